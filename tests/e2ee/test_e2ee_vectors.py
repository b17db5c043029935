"""The protocol's test vectors (docs/e2ee-vectors.json) hold in Python, against published vectors
for the primitives and by rebuilding every derived value from the fixed inputs."""

from __future__ import annotations

import json

import pytest

from payambar.e2ee import envelope as env
from payambar.e2ee import keys, link, safety, vectors
from payambar.e2ee.handshake import initiator_secret, responder_secret
from payambar.e2ee.primitives import (
    DecryptError,
    ed25519_public,
    ed25519_sign,
    hkdf,
    mlkem_decapsulate,
    mlkem_public,
    x25519,
    x25519_public,
)

VECTORS = json.loads(vectors.VECTORS_FILE.read_text())
h = bytes.fromhex


def test_x25519_meets_rfc_7748():
    v = VECTORS["primitives"]["x25519"]
    assert x25519(h(v["alice_private"]), h(v["bob_public"])) == h(v["shared"])


def test_hkdf_meets_rfc_5869():
    v = VECTORS["primitives"]["hkdf_sha256"]
    assert hkdf(h(v["ikm"]), h(v["salt"]), h(v["info"]), v["length"]) == h(v["okm"])


def test_ed25519_meets_rfc_8032():
    v = VECTORS["primitives"]["ed25519"]
    assert ed25519_public(h(v["seed"])) == h(v["public"])
    assert ed25519_sign(h(v["seed"]), h(v["message"])) == h(v["signature"])


def test_every_vector_rebuilds_byte_for_byte_from_its_fixed_inputs():
    assert vectors.build(vectors.kems_in_file()) == VECTORS


@pytest.mark.parametrize("kem", VECTORS["mlkem_encapsulations"], ids=lambda k: k["session"])
def test_mlkem_ciphertexts_decapsulate_to_their_shared_secret(kem):
    assert mlkem_decapsulate(h(kem["pq_seed"]), h(kem["ciphertext"])) == h(kem["shared_secret"])


def test_mlkem_public_key_comes_from_the_seed():
    device = VECTORS["people"]["bob"]["devices"][0]
    assert mlkem_public(h(device["pq_prekey"]["seed"])) == h(device["pq_prekey"]["public"])


def test_both_sides_of_the_handshake_reach_the_vector_root_key():
    v = VECTORS["handshake"]
    alice, bob = VECTORS["people"]["alice"]["devices"][0], VECTORS["people"]["bob"]["devices"][0]
    one_time = bob["one_time_prekeys"][0]
    kem = VECTORS["mlkem_encapsulations"][0]
    ours = initiator_secret(
        h(alice["identity_dh_private"]),
        h(v["ephemeral_private"]),
        h(bob["identity_dh"]),
        h(bob["signed_prekey"]["public"]),
        h(one_time["public"]),
        h(kem["shared_secret"]),
    )
    theirs = responder_secret(
        h(bob["identity_dh_private"]),
        h(bob["signed_prekey"]["private"]),
        h(one_time["private"]),
        h(bob["pq_prekey"]["seed"]),
        h(alice["identity_dh"]),
        h(v["ephemeral_public"]),
        h(kem["ciphertext"]),
    )
    assert ours == theirs == h(v["root_key"])
    assert x25519_public(h(v["ephemeral_private"])) == h(v["ephemeral_public"])


def test_device_list_signature_verifies_and_fails_when_any_device_changes():
    listed = VECTORS["people"]["alice"]["device_list_json"]
    assert keys.parse_device_list(listed).version == 1
    forged = json.loads(json.dumps(listed))
    forged["devices"][1]["device_key"] = VECTORS["people"]["bob"]["devices"][0]["bundle_json"]["identity_dh"]
    with pytest.raises(keys.BadKeys):
        keys.parse_device_list(forged)


def test_bundle_signature_is_checked_against_the_listed_device_key():
    device = VECTORS["people"]["bob"]["devices"][1]
    keys.parse_bundle(device["bundle_json"], 12, h(device["device_key"]))
    with pytest.raises(keys.BadKeys):
        keys.parse_bundle(device["bundle_json"], 7, h(device["device_key"]))  # another person's id


def test_vector_envelopes_parse_with_their_entry_kinds():
    names = {d["device_id"]: d["name"] for p in VECTORS["people"].values() for d in p["devices"]}
    prekey_entries = [
        sorted(names[e.device_id.hex()] for e in env.parse(h(m["envelope"])).entries if e.prekey)
        for m in VECTORS["messages"]
    ]
    assert prekey_entries == [["alice/1", "bob/0"], ["bob/1"], ["alice/1"]]
    steady = [e for e in env.parse(h(VECTORS["messages"][2]["envelope"])).entries if not e.prekey]
    assert [len(e.to_bytes()) for e in steady] == [97]


def test_a_vector_envelope_opens_only_in_its_own_conversation():
    message = VECTORS["messages"][0]
    bob = vectors.state_of("bob", 0)
    sender_dh = h(VECTORS["people"]["alice"]["devices"][0]["identity_dh"])
    with pytest.raises(DecryptError):
        bob.open(h(message["envelope"]), 7, 99, message["client_id"], sender_dh)
    with pytest.raises(DecryptError):
        bob.open(h(message["envelope"]), 7, 12, "another", sender_dh)
    opened = bob.open(h(message["envelope"]), 7, 12, message["client_id"], sender_dh)
    assert opened.inner == message["inner"]


def test_safety_number_is_the_same_from_both_sides():
    alice, bob = VECTORS["people"]["alice"], VECTORS["people"]["bob"]
    one = safety.safety_number(7, h(alice["identity_key"]), 12, h(bob["identity_key"]))
    other = safety.safety_number(12, h(bob["identity_key"]), 7, h(alice["identity_key"]))
    assert one == other == VECTORS["safety_number"]["number"]
    assert len(one) == 60 and one.isdigit()


def test_link_commitment_qr_key_and_short_code_match_the_vector_from_both_sides():
    v = VECTORS["link"]
    revealed = link.parse_qr(v["qr"])
    assert revealed.as_bytes() == h(v["revealed"])
    assert (revealed.link_key, revealed.device_id, revealed.device_key) == (
        h(v["new_link_public"]), h(v["new_device"]["device_id"]), h(v["new_device"]["device_key"]),
    )  # fmt: skip
    assert ed25519_public(h(v["new_device"]["device_seed"])) == revealed.device_key
    assert link.commitment(revealed.as_bytes()) == h(v["commitment"])
    link.check_commitment(revealed, h(v["commitment"]))
    existing_key = h(v["existing_link_public"])
    assert x25519_public(h(v["existing_link_private"])) == existing_key
    new_side = link.derive(h(v["new_link_private"]), existing_key, revealed, existing_key)
    existing_side = link.derive(h(v["existing_link_private"]), revealed.link_key, revealed, existing_key)
    assert new_side == existing_side
    assert x25519(h(v["new_link_private"]), existing_key) == h(v["shared"])
    assert new_side.transcript == h(v["transcript"]) and new_side.key == h(v["key"])
    assert f"{int.from_bytes(h(v['code_bytes']), 'big') % 10**6:06d}" == v["short_code"] == new_side.code


def test_link_payload_opens_to_the_vector_and_hands_over_alices_identity():
    v = VECTORS["link"]
    revealed = link.parse_qr(v["qr"])
    existing_key = h(v["existing_link_public"])
    secrets = link.derive(h(v["new_link_private"]), existing_key, revealed, existing_key)
    assert link.seal_payload(secrets, v["payload"].encode()) == h(v["sealed"])
    assert link.PAYLOAD_LABEL + secrets.transcript == h(v["associated_data"])
    opened = link.open_payload(secrets, h(v["sealed"]))
    assert opened.decode() == v["payload"]
    payload = link.parse_payload(opened, 7, revealed)
    assert payload.identity_seed == h(VECTORS["people"]["alice"]["identity_seed"])
    assert payload.device_list.version == 2 and len(payload.device_list.devices) == 3
    assert payload.verified == [(12, h(VECTORS["people"]["bob"]["identity_key"]))]
    sealed = bytearray(h(v["sealed"]))
    sealed[5] ^= 1
    with pytest.raises(link.LinkRefused):
        link.open_payload(secrets, bytes(sealed))
    with pytest.raises(link.LinkRefused):
        link.parse_payload(opened, 12, revealed)  # another person's list


def test_link_values_that_are_not_the_committed_ones_are_refused():
    v = VECTORS["link"]
    data = bytearray(h(v["revealed"]))
    data[0] ^= 1
    with pytest.raises(link.LinkRefused, match="commitment"):
        link.check_commitment(link.Revealed.from_bytes(bytes(data)), h(v["commitment"]))
    with pytest.raises(link.LinkRefused):
        link.parse_qr("payambar-safety:1:" + v["qr"][len("payambar-link:1:") :])
