#!/usr/bin/env python3
# Shoal content format v1: reference implementation and test vectors.
#
# This is the reference used to check docs/protocol/content.md. It was written from the rules in
# that document (the Merkle tree, the manifest encoding, the content ID), not translated from the
# C++ sources, so that the two implementations check each other. It needs only the Python 3
# standard library.
#
# Run it from the repository root:
#
#     python3 docs/protocol/content_vectors.py
#
# It prints the test vectors as a Markdown list, ready to compare with (or paste into) the
# "Test vectors" section of docs/protocol/content.md. It also runs a few self-checks (block
# proofs, validation, ID parsing) and stops with an AssertionError if one of them fails.
#
# Byte patterns are deterministic: pattern(n) is n bytes where byte i has the value i % 251.

import base64
import hashlib
import struct

# ---------------------------------------------------------------------------------------------
# Constants

BLOCK_SIZE = 16 * 1024           # one Merkle leaf
PIECE_LEVEL = 4                  # a piece is an aligned subtree of 2**4 leaves
BLOCKS_PER_PIECE = 1 << PIECE_LEVEL
PIECE_SIZE = BLOCK_SIZE * BLOCKS_PER_PIECE   # 256 KiB
Z = bytes(32)                    # the hash of a subtree that holds no real leaf

MAGIC = b"SHMF"
FORMAT_VERSION = 1      # plain trees; version 2 when a tree has links or non-default modes
FORMAT_VERSION_2 = 2
KIND_FILE, KIND_DIRECTORY = 1, 2
TYPE_FILE, TYPE_DIRECTORY, TYPE_SYMLINK = 1, 2, 3
LINK_DEPTH_MAX = 40
FLAG_EXECUTABLE = 0x01

ENTRIES_MAX = 1 << 20
FILE_SIZE_MAX = 1 << 50
MANIFEST_BYTES_MAX = 64 << 20
PATH_BYTES_MAX = 4096
COMPONENT_BYTES_MAX = 255
DEPTH_MAX = 128

ID_PREFIX = "sh1"
ID_LENGTH = 55


def pattern(n):
    return bytes(i % 251 for i in range(n))


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


# ---------------------------------------------------------------------------------------------
# Merkle tree of one file

def leaf_count(size):
    return -(-size // BLOCK_SIZE)


def piece_count(size):
    return -(-size // PIECE_SIZE)


def tree_height(size):
    """Level of the root, leaves being level 0: the smallest h >= 4 with 2**h >= leaf_count."""
    leaves = leaf_count(size)
    if leaves == 0:
        return 0
    h = PIECE_LEVEL
    while (1 << h) < leaves:
        h += 1
    return h


def leaf_hash(block):
    return sha256(b"\x00", block)


def node_hash(left, right):
    return sha256(b"\x01", left, right)


class FileTree:
    """The padded tree of one file, with node(level, index) defined directly from the rules:
    a node whose subtree starts at or beyond the last real leaf is Z and is never hashed."""

    def __init__(self, data):
        self.size = len(data)
        self.height = tree_height(self.size)
        self.leaves = [leaf_hash(data[i:i + BLOCK_SIZE]) for i in range(0, self.size, BLOCK_SIZE)]
        self._memo = {}

    def node(self, level, index):
        if index << level >= len(self.leaves):
            return Z                              # no real leaf below: padding
        if level == 0:
            return self.leaves[index]
        key = (level, index)
        if key not in self._memo:
            self._memo[key] = node_hash(self.node(level - 1, 2 * index),
                                        self.node(level - 1, 2 * index + 1))
        return self._memo[key]

    def root(self):
        return Z if self.size == 0 else self.node(self.height, 0)

    def pieces(self):
        return [self.node(PIECE_LEVEL, p) for p in range(piece_count(self.size))]

    def proof(self, block):
        """Sibling hashes from the leaf upward: exactly tree_height of them."""
        return [self.node(level, (block >> level) ^ 1) for level in range(self.height)]


def file_root(data):
    return FileTree(data).root()


def root_from_pieces(pieces, size):
    """The root from the piece layer alone (what a peer holding only the layer computes)."""
    if size == 0:
        return Z
    level = list(pieces)
    for _ in range(tree_height(size) - PIECE_LEVEL):
        padded = level + [Z] * (len(level) % 2)
        level = [node_hash(padded[i], padded[i + 1]) if padded[i] != Z or padded[i + 1] != Z
                 else Z for i in range(0, len(padded), 2)]
    return level[0]


def verify_block(root, size, block, data, siblings):
    leaves = leaf_count(size)
    if block >= leaves:
        return False
    expected = BLOCK_SIZE if block + 1 < leaves else size - block * BLOCK_SIZE
    if len(data) != expected or len(siblings) != tree_height(size):
        return False
    node = leaf_hash(data)
    for level, sibling in enumerate(siblings):
        node = node_hash(sibling, node) if (block >> level) & 1 else node_hash(node, sibling)
    return node == root


# ---------------------------------------------------------------------------------------------
# Paths

def path_problem(path):
    """None if `path` (bytes) is a valid relative manifest path, else the reason."""
    if not path:
        return "empty path"
    if len(path) > PATH_BYTES_MAX:
        return "longer than 4096 bytes"
    if path.startswith(b"/") or path.endswith(b"/"):
        return "leading or trailing '/'"
    names = path.split(b"/")
    if len(names) > DEPTH_MAX:
        return "deeper than 128 components"
    for name in names:
        if not name:
            return "empty component"
        if name in (b".", b".."):
            return "'.' or '..'"
        if len(name) > COMPONENT_BYTES_MAX:
            return "component longer than 255 bytes"
        if any(c < 0x20 or c == 0x7F or c == 0x5C for c in name):
            return "control character or backslash"
        try:
            # Python's strict UTF-8 decoder follows RFC 3629: no overlong forms, no surrogates,
            # nothing above U+10FFFF.
            name.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            return "not valid UTF-8"
    return None


# ---------------------------------------------------------------------------------------------
# Manifest

class Entry:
    def __init__(self, path, directory=False, data=b"", executable=False, mode=None, link=None):
        self.path = path.encode("utf-8") if isinstance(path, str) else path
        self.directory = directory
        self.link = link.encode("utf-8") if isinstance(link, str) else link  # a link's target
        self.executable = executable
        self.mode = mode  # None: the default (0644, 0755 if executable; directories 0755)
        plain = directory or link is not None
        self.size = 0 if plain else len(data)
        self.root = Z if plain else file_root(data)
        self.tree = None if plain else FileTree(data)

    def effective_mode(self):
        if self.mode is not None:
            return self.mode
        return 0o755 if self.directory or self.executable else 0o644


def link_leaves_tree(entries, link):
    """Resolves `link` as the kernel would, through the tree's links; the reason it fails."""
    by_path = {e.path: e for e in entries}

    def walk(at, target, depth):
        for part in target.split(b"/"):
            if part == b".":
                continue
            if part == b"..":
                if not at:
                    return "leads out of the tree"
                at.pop()
                continue
            at.append(part)
            hit = by_path.get(b"/".join(at))
            if hit is not None and hit.link is not None:
                if depth >= LINK_DEPTH_MAX:
                    return "too many links"
                at.pop()
                why = walk(at, hit.link, depth + 1)
                if why:
                    return why
        return None

    parent = link.path.rpartition(b"/")[0]
    return walk(parent.split(b"/") if parent else [], link.link, 1)


def validate(kind, entries):
    if kind == KIND_FILE:
        assert len(entries) == 1 and not entries[0].directory and entries[0].path == b""
    else:
        assert kind == KIND_DIRECTORY and len(entries) <= ENTRIES_MAX
        dirs = set()
        for i, e in enumerate(entries):
            assert path_problem(e.path) is None, e.path
            assert i == 0 or entries[i - 1].path < e.path, "not strictly sorted by path bytes"
            parent = e.path.rpartition(b"/")[0]
            assert parent == b"" or parent in dirs, "parent is not a directory entry"
            if e.directory:
                dirs.add(e.path)
    for e in entries:
        if e.link is not None:
            assert kind == KIND_DIRECTORY and e.mode is None and not e.executable
            t = e.link
            assert 0 < len(t) <= 4095 and not t.startswith(b"/") and not t.endswith(b"/")
            assert all(p in (b".", b"..") or path_problem(p) is None for p in t.split(b"/"))
            assert link_leaves_tree(entries, e) is None, e.path
            continue
        if e.mode is not None:
            assert 0 <= e.mode <= 0o777 and e.mode != Entry(b"", e.directory, b"", e.executable).effective_mode()
            assert e.directory or e.executable == bool(e.mode & 0o100)
        if e.directory:
            assert not e.executable and e.size == 0 and e.root == Z
        else:
            assert e.size <= FILE_SIZE_MAX
            assert (e.size == 0) == (e.root == Z)


def encode_manifest(kind, entries):
    validate(kind, entries)
    v2 = any(e.link is not None or e.mode is not None for e in entries)
    out = bytearray(MAGIC)
    out += struct.pack(">BBI", FORMAT_VERSION_2 if v2 else FORMAT_VERSION, kind, len(entries))
    for e in entries:
        kind_byte = (TYPE_SYMLINK if e.link is not None
                     else TYPE_DIRECTORY if e.directory else TYPE_FILE)
        if v2:
            mode = 0 if e.link is not None else e.effective_mode()
            out += struct.pack(">BHH", kind_byte, mode, len(e.path))
        else:
            flags = FLAG_EXECUTABLE if e.executable else 0
            out += struct.pack(">BBH", kind_byte, flags, len(e.path))
        out += e.path
        if e.link is not None:
            out += struct.pack(">H", len(e.link)) + e.link
        elif not e.directory:
            out += struct.pack(">Q", e.size) + e.root
    assert len(out) <= MANIFEST_BYTES_MAX
    return bytes(out)


def directory_manifest(entries):
    entries = sorted(entries, key=lambda e: e.path)     # bytes compare as unsigned octets
    return encode_manifest(KIND_DIRECTORY, entries)


# ---------------------------------------------------------------------------------------------
# Content ID

def content_id(manifest_bytes):
    text = base64.b32encode(sha256(manifest_bytes)).decode("ascii")
    return ID_PREFIX + text.rstrip("=").lower()


def parse_id(text):
    """The 32-byte digest, or raises ValueError. Mirrors the rules in content.md."""
    if not text.startswith("sh"):
        raise ValueError("not a content ID")
    if not text.startswith(ID_PREFIX):
        raise ValueError("unsupported version")
    if len(text) != ID_LENGTH:
        raise ValueError("wrong length")
    body = text[len(ID_PREFIX):]
    if any(c not in "abcdefghijklmnopqrstuvwxyz234567" for c in body):
        raise ValueError("not lowercase base32")
    digest = base64.b32decode(body.upper() + "====")
    if content_id_from_digest(digest) != text:
        raise ValueError("non-canonical trailing bits")
    return digest


def content_id_from_digest(digest):
    return ID_PREFIX + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


# ---------------------------------------------------------------------------------------------
# Piece numbering and bitmaps

def global_pieces(entries):
    """(file path, piece number within the file) for each global piece index, in order."""
    out = []
    for e in entries:
        if not e.directory:
            out += [(e.path, k) for k in range(piece_count(e.size))]
    return out


def bitmap(piece_total, present):
    bits = bytearray(-(-piece_total // 8))
    for p in present:
        bits[p // 8] |= 0x80 >> (p % 8)
    return bytes(bits)


# ---------------------------------------------------------------------------------------------
# Self-checks

def self_checks():
    # Heights.
    for size, h in [(0, 0), (1, 4), (PIECE_SIZE, 4), (PIECE_SIZE + 1, 5), (3 * PIECE_SIZE, 6),
                    (1000000, 6), (2 * PIECE_SIZE + 1, 6)]:
        assert tree_height(size) == h, (size, tree_height(size), h)

    # The piece layer gives the same root as the leaves; every block proof verifies.
    for size in [1, 3, BLOCK_SIZE, BLOCK_SIZE + 1, PIECE_SIZE - 1, PIECE_SIZE, PIECE_SIZE + 1,
                 1000000, 2 * PIECE_SIZE + 1, 5 * PIECE_SIZE + 12345]:
        data = pattern(size)
        t = FileTree(data)
        assert root_from_pieces(t.pieces(), size) == t.root(), size
        for b in range(leaf_count(size)):
            block = data[b * BLOCK_SIZE:(b + 1) * BLOCK_SIZE]
            proof = t.proof(b)
            assert verify_block(t.root(), size, b, block, proof), (size, b)
        # A wrong length or a short proof fails.
        last = leaf_count(size) - 1
        block = data[last * BLOCK_SIZE:]
        assert not verify_block(t.root(), size, last, block + b"\x00", t.proof(last))
        assert not verify_block(t.root(), size, last, block, t.proof(last)[:-1])

    # Domain separation: a 64-byte block is not an interior node.
    d = pattern(64)
    assert leaf_hash(d) != node_hash(d[:32], d[32:])

    # Paths.
    for bad in [b"", b"/a", b"a/", b"a//b", b".", b"a/..", b"a/./b", b"a\\b", b"a\x01",
                b"a\x7f", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"x" * 256,
                b"/".join([b"d"] * 129), (b"x" * 255 + b"/") * 16 + b"x"]:
        assert path_problem(bad) is not None, bad
    for good in [b"a", b"a/b", b"..a", b"a.", b"\xc3\xa9t\xc3\xa9", b"x" * 255,
                 b"/".join([b"d"] * 128), b"\xf0\x9f\x90\x9f"]:
        assert path_problem(good) is None, good

    # IDs.
    some = content_id(b"x")
    assert len(some) == ID_LENGTH and parse_id(some) == sha256(b"x")
    last = some[-1]
    # The last character carries 1 data bit and 4 zero padding bits: only 'a' and 'q' are
    # canonical there.
    assert last in "aq"
    for bad in ["sh2" + some[3:], some[:-1], some + "a", some.upper(), some[:-1] + "b",
                "xx" + some[2:]]:
        try:
            parse_id(bad)
        except ValueError:
            continue
        raise AssertionError(bad)

    # Bitmap layout: piece 0 is the most significant bit of byte 0.
    assert bitmap(10, [0, 9]) == b"\x80\x40"


# ---------------------------------------------------------------------------------------------
# Vectors

def main():
    self_checks()
    out = []

    out.append("#### File roots\n")
    root_cases = [
        ("empty file (0 bytes)", b""),
        ('`b"abc"` (3 bytes)', b"abc"),
        ("pattern(16384)", pattern(16384)),
        ("pattern(16385)", pattern(16385)),
        ("pattern(262144)", pattern(262144)),
        ("pattern(1000000)", pattern(1000000)),
        ("pattern(524289) = pattern(2*262144+1)", pattern(2 * PIECE_SIZE + 1)),
    ]
    for label, data in root_cases:
        t = FileTree(data)
        out.append("- %s: leaves %d, height %d, pieces %d\n  root `%s`"
                   % (label, leaf_count(len(data)), t.height, piece_count(len(data)),
                      t.root().hex()))
    out.append("")

    out.append('#### The path from leaf to root for `b"abc"`\n')
    out.append("Node 0 of each level (every right sibling on the way is Z):\n")
    abc = FileTree(b"abc")
    for level in range(abc.height + 1):
        out.append("- level %d: `%s`" % (level, abc.node(level, 0).hex()))
    out.append("")

    out.append("#### Piece hashes of pattern(1000000)\n")
    big = FileTree(pattern(1000000))
    for i, p in enumerate(big.pieces()):
        length = min(PIECE_SIZE, 1000000 - i * PIECE_SIZE)
        out.append("- piece %d (%d bytes): `%s`" % (i, length, p.hex()))
    out.append("")

    out.append("#### Proof of block 61 (the last, 576 bytes) of pattern(1000000)\n")
    out.append("Siblings from the leaf upward (height 6, so 6 hashes):\n")
    for level, s in enumerate(big.proof(61)):
        out.append("- level %d: `%s`" % (level, s.hex()))
    out.append("")

    out.append("#### Single file `b\"hello\\n\"` (not executable)\n")
    single = encode_manifest(KIND_FILE, [Entry(b"", data=b"hello\n")])
    out.append("- manifest (%d bytes): `%s`" % (len(single), single.hex()))
    out.append("- ID: `%s`" % content_id(single))
    out.append("")

    out.append("#### Directory tree\n")
    tree_entries = [
        Entry("a.txt", data=b"hello\n"),
        Entry("empty", data=b""),
        Entry("run.sh", data=b"#!/bin/sh\necho hi\n", executable=True),
        Entry("sub", directory=True),
        Entry("sub/deep", directory=True),
        Entry("sub/deep/data.bin", data=pattern(1000000)),
        Entry("sub/empty_dir", directory=True),
    ]
    tree = directory_manifest(tree_entries)
    tree_sorted = sorted(tree_entries, key=lambda e: e.path)
    out.append("Entries in manifest order:\n")
    for e in tree_sorted:
        if e.directory:
            out.append("- directory `%s`" % e.path.decode())
        else:
            out.append("- file `%s`, %d bytes%s, root `%s`"
                       % (e.path.decode(), e.size, ", executable" if e.executable else "",
                          e.root.hex()))
    out.append("")
    out.append("- manifest (%d bytes):\n\n```\n%s\n```\n" % (len(tree), wrap_hex(tree)))
    out.append("- ID: `%s`" % content_id(tree))
    gp = global_pieces(tree_sorted)
    out.append("- global pieces: %d (%s)"
               % (len(gp), ", ".join("%d = `%s` piece %d" % (i, p.decode(), k)
                                    for i, (p, k) in enumerate(gp))))
    out.append("- data size: %d bytes (files end to end in manifest order)"
               % sum(e.size for e in tree_sorted))
    out.append("- piece-set bitmap with pieces 0, 2 and 5 present: `%s`"
               % bitmap(len(gp), [0, 2, 5]).hex())
    out.append("")

    out.append("#### Directory tree with links and modes (format version 2)\n")
    v2_entries = [
        Entry("bin", directory=True),
        Entry("bin/tool", data=b"#!/bin/sh\necho tool\n", executable=True, mode=0o750),
        Entry("conf", directory=True, mode=0o700),
        Entry("conf/secret.key", data=b"k" * 32, mode=0o600),
        Entry("latest", link="bin/tool"),
        Entry("readme.txt", data=b"hello\n"),
    ]
    v2_tree = directory_manifest(v2_entries)
    out.append("Entries in manifest order:\n")
    for e in sorted(v2_entries, key=lambda e: e.path):
        if e.link is not None:
            out.append("- link `%s` -> `%s`" % (e.path.decode(), e.link.decode()))
        elif e.directory:
            out.append("- directory `%s`, mode %04o" % (e.path.decode(), e.effective_mode()))
        else:
            out.append("- file `%s`, %d bytes, mode %04o, root `%s`"
                       % (e.path.decode(), e.size, e.effective_mode(), e.root.hex()))
    out.append("")
    out.append("- manifest (%d bytes):\n\n```\n%s\n```\n" % (len(v2_tree), wrap_hex(v2_tree)))
    out.append("- ID: `%s`" % content_id(v2_tree))
    out.append("")

    out.append("#### Empty directory (zero entries)\n")
    empty_dir = directory_manifest([])
    out.append("- manifest (%d bytes): `%s`" % (len(empty_dir), empty_dir.hex()))
    out.append("- ID: `%s`" % content_id(empty_dir))

    print("\n".join(out))


def wrap_hex(data, width=64):
    h = data.hex()
    return "\n".join(h[i:i + width] for i in range(0, len(h), width))


if __name__ == "__main__":
    main()
