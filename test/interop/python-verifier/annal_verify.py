"""An Annal verifier written from docs/verification.md alone (sections cited as §n).

Dependencies: PyNaCl (libsodium: the Ed25519 rule of §6) and rfc8785 (JCS, §2).
Everything else is the standard library. Output: one JSON line; exit status 0 or 1.
"""

import argparse
import base64
import binascii
import hashlib
import json
import sys
import urllib.error
import urllib.request

import nacl.bindings
import nacl.exceptions
import rfc8785

ZERO = bytes(32)
EMPTY_ROOT = hashlib.sha256(b"").digest()


class Failure(Exception):
    def __init__(self, position, reason):
        super().__init__(reason)
        self.position = position
        self.reason = reason


# ---------------------------------------------------------------- §1 encodings

def b64(text, length=None):
    """Strict base64 (§1): the unique canonical spelling, with padding."""
    if not isinstance(text, str):
        raise ValueError("base64 value is not a string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ValueError(f"not base64: {error}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not the canonical base64 spelling")
    if length is not None and len(raw) != length:
        raise ValueError(f"base64 value is {len(raw)} bytes, not {length}")
    return raw


def enc(raw):
    return base64.b64encode(raw).decode("ascii")


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def strict_json(text):
    """Parse JSON refusing duplicate member names (§2)."""
    def pairs(items):
        out = {}
        for key, value in items:
            if key in out or key == "__proto__":
                raise ValueError(f"duplicate or forbidden member name {key!r}")
            out[key] = value
        return out
    return json.loads(text, object_pairs_hook=pairs)


def jcs(value):
    return rfc8785.dumps(value)


# ---------------------------------------------------------------- §6 Ed25519

def ed25519_ok(public_key, message, signature):
    """§6: libsodium's crypto_sign_verify_detached is the rule, through PyNaCl."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
        return True
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False


def key_id(public_key):
    return hashlib.sha256(public_key).digest()[:8].hex()


# ---------------------------------------------------------------- §8 keys and notes

class TrustedKey:
    def __init__(self, name, public_key):
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(public_key)

    def same(self, other):
        # §11.2: compare as bytes (name and key), never as text.
        return self.name == other.name and self.public_key == other.public_key


def note_key_hash(name, public_key, algorithm=1):
    return sha256(name.encode("utf-8"), bytes([0x0A, algorithm]), public_key)[:4]


def parse_verifier_key(text):
    """name+hex8(keyHash)+base64(0x01 || key): split at the first two '+' only (§8)."""
    parts = text.split("+", 2)
    if len(parts) != 3 or not parts[0]:
        raise ValueError("verifier key is not name+hash+key")
    name, hash_hex, key_b64 = parts
    raw = b64(key_b64, 33)
    if raw[0] != 0x01:
        raise ValueError("verifier key algorithm is not Ed25519 (0x01)")
    public_key = raw[1:]
    if hash_hex != note_key_hash(name, public_key).hex():
        raise ValueError("verifier key hash does not match (or is not lowercase hex)")
    return TrustedKey(name, public_key)


def parse_note(note):
    """§8: split at the last blank line; body ends with its newline."""
    if not isinstance(note, str) or not note.endswith("\n"):
        raise ValueError("note does not end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise ValueError("note has no blank line")
    body = note[: split + 1]
    lines = note[split + 2 : -1].split("\n")
    signatures = []
    for line in lines:
        if not line.startswith("\u2014 "):
            raise ValueError("signature line does not start with an em dash and a space")
        name, _, sig_b64 = line[2:].rpartition(" ")
        raw = b64(sig_b64)
        if len(raw) < 5:
            raise ValueError("signature line too short")
        signatures.append((name, raw[:4], raw[4:]))
    return body, signatures


def parse_checkpoint_body(body):
    """§8: origin, size, root, extension lines; annal-chain-head at most once."""
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint body has fewer than 3 lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError("tree size is not a decimal without leading zeros")
    chain_head = None
    for line in lines[3:]:
        if line.startswith("annal-chain-head "):
            if chain_head is not None:
                raise ValueError("annal-chain-head repeated")
            chain_head = b64(line[len("annal-chain-head "):], 32)
    return {"origin": origin, "size": int(size_text), "root": b64(root_text, 32), "chain_head": chain_head}


def verify_checkpoint(note, keys):
    """A trusted key named as the origin signed the body (§8): signature before body."""
    body, signatures = parse_note(note)
    origin = body.split("\n", 1)[0]
    signed = False
    for key in keys:
        if key.name != origin:
            continue
        want = note_key_hash(key.name, key.public_key)
        for name, khash, sig in signatures:
            if name == key.name and khash == want and ed25519_ok(key.public_key, body.encode("utf-8"), sig):
                signed = True
    if not signed:
        raise ValueError(f"no valid signature by a trusted key for origin {origin}")
    return parse_checkpoint_body(body)


# ---------------------------------------------------------------- §3-§5 records

RECORD_ALWAYS = {"position", "streamId", "streamVersion", "eventId", "type", "recordedAt", "metadata",
                 "dataHash", "prevHash", "streamPrevHash", "keyId", "hash", "signature"}


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 2**53 - 1


def check_record(record, keys_by_id):
    """§3 members, §4 dataHash, §5 hash, §6 signature. Returns the 32 hash bytes."""
    if not isinstance(record, dict):
        raise ValueError("record is not an object")
    members = set(record)
    extra = members - RECORD_ALWAYS - {"data", "dataSalt"}
    if extra:
        raise ValueError(f"record has unknown members {sorted(extra)}")
    if RECORD_ALWAYS - members:
        raise ValueError(f"record lacks {sorted(RECORD_ALWAYS - members)}")
    if ("data" in record) != ("dataSalt" in record):
        raise ValueError("data and dataSalt must be present together")
    for name in ("position", "streamVersion"):
        if not is_int(record[name]):
            raise ValueError(f"{name} is not an integer from 1")
    for name in ("streamId", "eventId", "type", "recordedAt", "keyId"):
        if not isinstance(record[name], str):
            raise ValueError(f"{name} is not a string")
    if not isinstance(record["metadata"], dict):
        raise ValueError("metadata is not an object")
    data_hash = b64(record["dataHash"], 32)
    b64(record["prevHash"], 32)
    b64(record["streamPrevHash"], 32)
    event_hash = b64(record["hash"], 32)
    signature = b64(record["signature"], 64)
    try:
        if "data" in record:
            salt = b64(record["dataSalt"], 32)
            if sha256(b"annal/data/v1\x00", salt, jcs(record["data"])) != data_hash:
                raise ValueError("data does not match dataHash")
        header = {k: record[k] for k in ("position", "streamId", "streamVersion", "eventId", "type", "recordedAt",
                                          "metadata", "dataHash", "prevHash", "streamPrevHash", "keyId")}
        header["v"] = 1
        computed = sha256(b"annal/event/v1\x00", jcs(header))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, OverflowError) as error:
        raise ValueError(f"cannot be canonicalised: {error}") from None
    if computed != event_hash:
        raise ValueError("hash does not match the header")
    key = keys_by_id.get(record["keyId"])
    if key is None:
        raise ValueError(f"signed by key {record['keyId']}, which is not trusted")
    if not ed25519_ok(key.public_key, event_hash, signature):
        raise ValueError("signature does not verify")
    return event_hash


# ---------------------------------------------------------------- §7 Merkle tree

def leaf_hash(event_hash):
    return sha256(b"\x00", event_hash)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


class Tree:
    """The right edge of an RFC 9162 tree: (subtree size, root) pairs, largest first."""

    def __init__(self, size=0, frontier=()):
        self.size = size
        self.edge = []
        remaining = size
        sizes = []
        bit = 1 << 62
        while bit:
            if remaining & bit:
                sizes.append(bit)
            bit >>= 1
        if len(sizes) != len(frontier):
            raise ValueError(f"frontier has {len(frontier)} hashes, size {size} needs {len(sizes)}")
        self.edge = list(zip(sizes, frontier))

    def append(self, leaf):
        self.edge.append((1, leaf))
        while len(self.edge) >= 2 and self.edge[-1][0] == self.edge[-2][0]:
            (n, right), (_, left) = self.edge.pop(), self.edge.pop()
            self.edge.append((2 * n, node_hash(left, right)))
        self.size += 1

    def root(self):
        if not self.edge:
            return EMPTY_ROOT
        root = self.edge[-1][1]
        for _, h in reversed(self.edge[:-1]):
            root = node_hash(h, root)
        return root


def verify_inclusion(leaf_index, tree_size, leaf, path, root):
    """RFC 9162 §2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, path):
    """RFC 9162 §2.1.4.2, with the edge cases of §7."""
    if size1 > size2:
        return False
    if size1 == size2:
        return not path and root1 == root2
    if size1 == 0:
        return not path and root1 == EMPTY_ROOT
    if not path:
        return False
    if size1 & (size1 - 1) == 0:
        path = [root1] + list(path)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# ---------------------------------------------------------------- §20 following keys

ROTATION_MEMBERS = {"origin", "previousKeyId", "newKeyId", "newPublicKey", "newNoteVerifierKey", "fromPosition", "newKeySignature"}


def check_rotation(record, in_force, used):
    """§20: a KeyRotated event at position r, already verified with the key in force."""
    r = record["position"]
    data = record.get("data")
    if not isinstance(data, dict) or set(data) != ROTATION_MEMBERS:
        raise Failure(r, "KeyRotated data does not have exactly the members of section 20")
    if not is_int(data["fromPosition"]) or any(not isinstance(data[m], str) for m in ROTATION_MEMBERS - {"fromPosition"}):
        raise Failure(r, "KeyRotated member types are wrong")
    if data["previousKeyId"] != in_force.key_id or data["fromPosition"] != r + 1:
        raise Failure(r, "KeyRotated does not name the key in force, or does not start at the next position")
    if in_force.name is not None and data["origin"] != in_force.name:
        raise Failure(r, "KeyRotated origin is not the log's")
    raw = b64(data["newPublicKey"], 32)
    if key_id(raw) != data["newKeyId"] or data["newKeyId"] in used:
        raise Failure(r, "KeyRotated names a key id that is not its key's, or a key in force before")
    named = parse_verifier_key(data["newNoteVerifierKey"])
    if named.name != data["origin"] or named.public_key != raw:
        raise Failure(r, "KeyRotated newNoteVerifierKey is not the new key under the origin")
    statement = (
        "annal-key-rotation/v1\n"
        f"origin {data['origin']}\nprevious-key-id {data['previousKeyId']}\nnew-key-id {data['newKeyId']}\n"
        f"new-public-key {data['newPublicKey']}\nnew-note-verifier-key {data['newNoteVerifierKey']}\n"
        f"from-position {data['fromPosition']}\n"
    ).encode("utf-8")
    if not ed25519_ok(raw, statement, b64(data["newKeySignature"], 64)):
        raise Failure(r, "KeyRotated newKeySignature does not verify with the new key")
    return TrustedKey(data["origin"], raw)


# ---------------------------------------------------------------- §9 / §13 chains

class Chain:
    """§9 (from position 1) and §13 (from any position N with a frontier)."""

    def __init__(self, keys, start=1, frontier=()):
        self.keys_by_id = {k.key_id: k for k in keys}
        # §20: [key, first position, last position or None], in order.
        self.windows = []
        self.expected = start
        self.start = start
        self.prev = ZERO if start == 1 else None
        self.streams = {}
        self.tree = Tree(start - 1, frontier)

    def push(self, record):
        position = record.get("position") if isinstance(record, dict) else None
        if position != self.expected:
            if is_int(position) and position > self.expected:
                raise Failure(self.expected, f"position {self.expected} is missing")
            raise Failure(self.expected, f"position {position!r} repeated or out of order")
        # §20: the key in force here; the first one is the pinned key that signs the first event.
        key_id_named = record.get("keyId")
        if not self.windows:
            if key_id_named not in self.keys_by_id:
                raise Failure(position, f"signed by key {key_id_named}, which is not trusted")
            self.windows.append([self.keys_by_id[key_id_named], position, None])
        in_force = self.windows[-1][0]
        if key_id_named != in_force.key_id:
            raise Failure(position, f"signed by key {key_id_named}, outside its window: key {in_force.key_id} is in force")
        try:
            h = check_record(record, {in_force.key_id: in_force})
        except ValueError as error:
            raise Failure(position, str(error)) from None
        if record["streamId"] == "annal:keys" and record["type"] == "KeyRotated":
            try:
                following = check_rotation(record, in_force, {w[0].key_id for w in self.windows})
            except ValueError as error:
                raise Failure(position, f"KeyRotated: {error}") from None
            self.windows[-1][2] = position
            self.windows.append([following, position + 1, None])
        if self.prev is not None and b64(record["prevHash"], 32) != self.prev:
            raise Failure(position, "prevHash does not link to the previous event")
        stream = self.streams.get(record["streamId"])
        if stream is not None or self.start == 1:
            version, last = stream if stream else (0, ZERO)
            if record["streamVersion"] != version + 1:
                raise Failure(position, f"stream version {record['streamVersion']}, expected {version + 1}")
            if b64(record["streamPrevHash"], 32) != last:
                raise Failure(position, "streamPrevHash does not link to the stream's previous event")
        self.streams[record["streamId"]] = (record["streamVersion"], h)
        self.prev = h
        self.tree.append(leaf_hash(h))
        self.expected += 1

    def key_at(self, position):
        for key, first, last in self.windows:
            if first <= max(position, 1) and (last is None or position <= last):
                return key
        return None

    def check_checkpoint(self, note, keys):
        size = self.tree.size
        # §20: signed by the key in force at its size (other lines are ignored).
        in_force = self.key_at(size)
        if in_force is not None:
            keys = [in_force]
        try:
            cp = verify_checkpoint(note, keys)
        except ValueError as error:
            raise Failure(size, f"checkpoint at tree size {size}: {error}") from None
        if cp["size"] > size:
            raise Failure(size + 1, f"checkpoint covers {cp['size']} events, position {size + 1} is missing")
        if cp["size"] != size:
            raise Failure(size, f"checkpoint size {cp['size']} checked at {size}")
        if cp["root"] != self.tree.root():
            raise Failure(size, "checkpoint root does not match the events")
        if size > 0 and cp["chain_head"] != self.prev:
            raise Failure(size, "checkpoint chain head is not the last event")


# ---------------------------------------------------------------- commands

def exact(obj, members, what):
    if not isinstance(obj, dict) or set(obj) != set(members):
        raise ValueError(f"{what} does not have exactly the members {sorted(members)}")


class Http:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token

    def get(self, path, auth=True):
        request = urllib.request.Request(self.url + path, headers={"Accept": "application/json"})
        if auth and self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request) as response:
            return strict_json(response.read().decode("utf-8"))


def check_published_keys(http, keys):
    """§11.2: GET /keys (no token); each entry exact; keyId recomputes; pinned keys listed."""
    entries = http.get("/keys", auth=False)["keys"]
    listed = []
    for entry in entries:
        members = {"keyId", "algorithm", "publicKey", "noteVerifierKey", "validFrom"} | ({"validTo"} if "validTo" in entry else set()) | ({"fromPosition"} if "fromPosition" in entry else set()) | ({"toPosition"} if "toPosition" in entry else set())
        exact(entry, members, "key entry")
        raw = b64(entry["publicKey"], 32)
        if entry["algorithm"] != "Ed25519" or entry["keyId"] != key_id(raw):
            raise ValueError(f"key entry {entry['keyId']} is inconsistent")
        vkey = parse_verifier_key(entry["noteVerifierKey"])
        if vkey.public_key != raw:
            raise ValueError("noteVerifierKey is not the same key as publicKey")
        listed.append(vkey)
    for key in keys:
        if not any(key.same(other) for other in listed):
            raise ValueError(f"pinned key {key.name} is not among the published keys")
    return len(entries)


def command_log(args, keys):
    http = Http(args.url, args.token)
    published = check_published_keys(http, keys)
    latest = http.get("/checkpoints/latest")
    exact(latest, {"treeSize", "rootHash", "note"}, "checkpoint")
    # Its size says how far to read; its signature is checked below, with the key in force
    # at that size (§20), which the chain learns on the way.
    size = parse_checkpoint_body(parse_note(latest["note"])[0])["size"]
    # §11.4: every checkpoint, paged.
    checkpoints, start = [], 1
    while True:
        page = http.get(f"/checkpoints?fromTreeSize={start}&limit={args.page}")
        checkpoints += [c for c in page["checkpoints"] if c["treeSize"] <= size]
        start = page["nextTreeSize"]
        if len(page["checkpoints"]) < args.page or start > size:
            break
    by_size = {c["treeSize"]: c for c in checkpoints}
    chain = Chain(keys)
    position, roots = 1, {}
    while position <= size:
        page = http.get(f"/events?fromPosition={position}&limit={args.page}")
        for record in page["events"]:
            if record.get("position", 0) > size:
                break
            chain.push(record)
            if chain.tree.size in by_size:
                cp = by_size[chain.tree.size]
                exact(cp, {"treeSize", "rootHash", "note"}, "checkpoint")
                chain.check_checkpoint(cp["note"], keys)
                roots[chain.tree.size] = chain.tree.root()
        if not page["events"]:
            raise Failure(position, f"the server has no event at position {position} (log size {size})")
        position = page["nextPosition"]
    if chain.tree.size != size:
        raise Failure(chain.tree.size + 1, "log ends early")
    chain.check_checkpoint(latest["note"], keys)
    # §11.5: consistency between successive checkpoints, inclusion of each last event.
    sizes = sorted(roots)
    for a, b in zip(sizes, sizes[1:]):
        proof = http.get(f"/proofs/consistency?from={a}&to={b}")
        exact(proof, {"from", "to", "path"}, "consistency proof")
        if not verify_consistency(a, b, roots[a], roots[b], [b64(p, 32) for p in proof["path"]]):
            raise Failure(b, f"consistency proof {a} -> {b} does not verify")
    return {"ok": True, "events": size, "checkpoints": len(roots), "keys": published, "root": enc(chain.tree.root())}


def command_export(args, keys):
    """§13: header, records, trailer; exact members; frontier; root or consistency."""
    with open(args.file, "rb") as handle:
        lines = handle.read().split(b"\n")
    if lines[-1] != b"":
        raise Failure(0, "the file does not end with a newline")
    lines = lines[:-1]
    if len(lines) < 3:
        raise Failure(0, "the file has no header, record and trailer")

    def parse(index, position):
        try:
            return strict_json(lines[index].decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise Failure(position, f"line {index + 1} is not valid JSON: {error}") from None

    header = parse(0, 0)
    exact(header, {"format", "from", "to", "frontier", "publicKeys"}, "export header")
    if header["format"] != "annal-export/v1" or not is_int(header["from"]) or not is_int(header["to"]) or header["to"] < header["from"]:
        raise Failure(0, "bad export header")
    n, m = header["from"], header["to"]
    if len(lines) - 2 != m - n + 1:
        raise Failure(n + len(lines) - 2, f"the file holds {len(lines) - 2} records, its header says {m - n + 1}")
    chain = Chain(keys, n, [b64(h, 32) for h in header["frontier"]])
    for i in range(1, len(lines) - 1):
        chain.push(parse(i, n + i - 1))
    trailer = parse(len(lines) - 1, m)
    exact(trailer, {"checkpoint", "consistencyProof"}, "export trailer")
    exact(trailer["checkpoint"], {"treeSize", "rootHash", "note"}, "trailer checkpoint")
    try:
        cp = verify_checkpoint(trailer["checkpoint"]["note"], keys)
    except ValueError as error:
        raise Failure(m, f"trailer checkpoint: {error}") from None
    proof = [b64(p, 32) for p in trailer["consistencyProof"]]
    if cp["size"] == m:
        if proof or cp["root"] != chain.tree.root() or cp["chain_head"] != chain.prev:
            raise Failure(m, "the records do not lead to the signed checkpoint")
    elif not verify_consistency(m, cp["size"], chain.tree.root(), cp["root"], proof):
        raise Failure(m, "the consistency proof to the signed checkpoint does not verify")
    return {"ok": True, "from": n, "to": m, "checkpoint": cp["size"], "root": enc(chain.tree.root())}


def command_receipt(args, keys):
    """§12, steps 1-5."""
    receipt = args.receipt if args.receipt is not None else strict_json(open(args.file, encoding="utf-8").read())
    members = {"format", "event", "inclusionProof", "checkpoint"} | ({"publicKey"} if "publicKey" in receipt else set())
    exact(receipt, members, "receipt")
    if receipt["format"] != "annal-receipt/v1":
        raise ValueError("not annal-receipt/v1")
    if "publicKey" in receipt:
        hint = parse_verifier_key(receipt["publicKey"])
        if not any(hint.same(k) for k in keys):
            raise ValueError("the receipt names a key that is not trusted")
    exact(receipt["checkpoint"], {"treeSize", "rootHash", "note"}, "receipt checkpoint")
    exact(receipt["inclusionProof"], {"leafIndex", "treeSize", "auditPath"}, "receipt inclusionProof")
    cp = verify_checkpoint(receipt["checkpoint"]["note"], keys)
    if cp["size"] != receipt["checkpoint"]["treeSize"] or enc(cp["root"]) != receipt["checkpoint"]["rootHash"]:
        raise ValueError("checkpoint members differ from the signed note")
    event = receipt["event"]
    h = check_record(event, {k.key_id: k for k in keys})
    proof = receipt["inclusionProof"]
    if proof["leafIndex"] != event["position"] - 1 or proof["treeSize"] != cp["size"]:
        raise ValueError("inclusion proof is for another leaf or tree")
    if not verify_inclusion(proof["leafIndex"], proof["treeSize"], leaf_hash(h), [b64(p, 32) for p in proof["auditPath"]], cp["root"]):
        raise ValueError("inclusion proof does not verify")
    if cp["size"] == event["position"] and cp["chain_head"] != h:
        raise ValueError("checkpoint chain head is not this event")
    return {"ok": True, "position": event["position"], "treeSize": cp["size"]}


def command_receipts(args, keys):
    """Every receipt of a live log, positions 1..S."""
    http = Http(args.url, args.token)
    size = http.get("/checkpoints/latest")["treeSize"]
    for position in range(1, size + 1):
        args.receipt = http.get(f"/events/{position}/receipt")
        try:
            command_receipt(args, keys)
        except ValueError as error:
            raise Failure(position, f"receipt: {error}") from None
    return {"ok": True, "receipts": size}


def command_ed25519(args, _keys):
    cases = json.load(open(args.file, encoding="utf-8"))["cases"]
    wrong = [c["name"] for c in cases if ed25519_ok(bytes.fromhex(c["publicKey"]), bytes.fromhex(c["message"]), bytes.fromhex(c["signature"])) != c["valid"]]
    if wrong:
        raise Failure(0, f"verdicts differ from the vectors: {wrong}")
    return {"ok": True, "cases": len(cases)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("log", "export", "receipt", "receipts", "ed25519"):
        p = sub.add_parser(name)
        p.add_argument("--key", action="append", default=[], help="a trusted verifier key (repeatable)")
        if name in ("log", "receipts"):
            p.add_argument("--url", required=True)
            p.add_argument("--token", default="")
            p.add_argument("--page", type=int, default=100)
        else:
            p.add_argument("file")
        p.set_defaults(receipt=None)
    args = parser.parse_args()
    try:
        keys = [parse_verifier_key(k) for k in args.key]
        if args.command != "ed25519" and not keys:
            raise Failure(0, "no trusted key: pass --key")
        command = {"log": command_log, "export": command_export, "receipt": command_receipt,
                   "receipts": command_receipts, "ed25519": command_ed25519}[args.command]
        result = command(args, keys)
    except Failure as failure:
        result = {"ok": False, "position": failure.position, "reason": failure.reason}
    except (ValueError, KeyError, TypeError) as error:
        result = {"ok": False, "position": 0, "reason": f"{type(error).__name__}: {error}"}
    except urllib.error.HTTPError as error:
        result = {"ok": False, "position": 0, "reason": f"HTTP {error.code} for {error.url}"}
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
