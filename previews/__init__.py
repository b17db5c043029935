"""Link previews for the sender's device: the page behind a link fetched through the same
public-network guard as push endpoints, its title, description and a small image read from it;
the preview then travels inside the message, so no recipient ever contacts the site."""
