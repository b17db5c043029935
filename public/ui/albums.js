// Albums, as Telegram's: files picked together travel as messages of their own (one file each,
// each sealed on its own) that name one album inside their sealed inner message
// (docs/e2ee.md §7.6, inner field `album`), and the conversation draws an album's parts from one
// sender, one after another, as one bubble.

export const MAX_ALBUM = 10;
const PHOTO = /^image\/(jpeg|png|webp|gif)$/;
const ALBUM_ID = /^[0-9a-f]{16}$/;

function newAlbumId() {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

// For files picked together, in their order: each file's `{id, index, count}`, or null for one
// that goes alone. Photos and other files make albums of their own (a run of one kind, at most
// ten); a run of one file is no album.
export function albumsFor(files, { asFile = false } = {}) {
  const kind = (file) => (!asFile && PHOTO.test(file.type) ? 'photo' : 'file');
  const runs = [];
  for (const [at, file] of files.entries()) {
    const run = runs.at(-1);
    if (run && run.kind === kind(file) && run.members.length < MAX_ALBUM) run.members.push(at);
    else runs.push({ kind: kind(file), members: [at] });
  }
  const albums = files.map(() => null);
  for (const { members } of runs) {
    if (members.length < 2) continue;
    const id = newAlbumId();
    members.forEach((at, index) => (albums[at] = { id, index, count: members.length }));
  }
  return albums;
}

// The album a message belongs to, when it is well formed (the sender's word, so checked here);
// null for a deleted message (its file is gone) or one that went alone.
export function albumOf(message) {
  const album = message?.album;
  if (!album || message.deleted || !message.attachment || typeof album !== 'object') return null;
  const { id, index, count } = album;
  if (typeof id !== 'string' || !ALBUM_ID.test(id)) return null;
  if (!Number.isSafeInteger(count) || count < 2 || count > MAX_ALBUM) return null;
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) return null;
  return { id, index, count };
}

// The messages of a chat, in order, as what the log shows: {messages: [one]} for a message
// alone, {album, messages: [its parts]} for consecutive parts of one album from one sender (those
// that have arrived; a part deleted leaves a gap that joins nothing else).
export function groupAlbums(messages) {
  const groups = [];
  for (const message of messages) {
    const last = groups.at(-1);
    const album = albumOf(message);
    const sameSender = last && last.messages[0].sender === message.sender;
    if (album && last?.album === album.id && sameSender) {
      last.messages.push(message);
      last.slots += 1;
      continue;
    }
    if (message.deleted && last?.album && sameSender && last.slots < last.count) {
      last.slots += 1; // a deleted part of it: it takes its place, unseen
      continue;
    }
    if (!album) {
      groups.push({ album: null, messages: [message] });
      continue;
    }
    // Parts deleted before the first one shown, just above it, were this album's.
    let slots = 1;
    while (slots <= album.index && isDeletedAlone(groups.at(-1), message.sender)) {
      groups.pop();
      slots += 1;
    }
    groups.push({ album: album.id, count: album.count, slots, messages: [message] });
  }
  return groups;
}

function isDeletedAlone(group, sender) {
  return Boolean(group && !group.album && group.messages[0].deleted && group.messages[0].sender === sender);
}

// Telegram-like rows for n photos: how many tiles stand in each row, the first row the widest.
const ROWS = { 1: [1], 2: [2], 3: [1, 2], 4: [2, 2], 5: [2, 3], 6: [3, 3], 7: [1, 3, 3], 8: [2, 3, 3], 9: [3, 3, 3], 10: [1, 3, 3, 3] };

// For each of n tiles, the number of tiles in its row.
export function rowSizes(count) {
  return (ROWS[count] ?? [count]).flatMap((size) => Array(size).fill(size));
}
