"""gzip Content-Encoding built from independently compressed pieces.

A response is a list of pieces (bytes, or a store Rec standing for its stored body).  Every
piece is deflated on its own and ends byte-aligned with a sync flush, so the pieces can be
concatenated into one valid deflate stream; a Rec caches its compressed body, so repeated
LISTs of large objects (Helm release Secrets) do not recompress them."""

import struct
import zlib

LEVEL = 1  # kube-apiserver uses gzip level 1 too
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
FINAL = b"\x03\x00"  # an empty final block


def deflate_piece(data):
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)


def piece_bytes(p):
    return p if isinstance(p, (bytes, bytearray, memoryview)) else p.tail()


def total_length(pieces):
    return sum(len(piece_bytes(p)) for p in pieces)


_POOL = None


def _warm(pieces):
    """Compress the objects that have no cached form yet, in parallel (zlib releases the GIL)."""
    global _POOL
    todo = [p for p in pieces if not isinstance(p, (bytes, bytearray, memoryview))
            and p._gz is None]
    if len(todo) < 4:
        return
    if _POOL is None:
        import os
        from concurrent.futures import ThreadPoolExecutor
        _POOL = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1),
                                   thread_name_prefix="fakekube-gzip")
    list(_POOL.map(lambda r: r.gz_tail(), todo))


def encode_fresh(pieces):
    """One gzip stream over the whole body, compressed now: what kube-apiserver does for
    every large response (level 1, no cache)."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
    out = [c.compress(piece_bytes(p)) for p in pieces]
    out.append(c.flush())
    return out


def encode(pieces):
    """The gzip member for the concatenation of pieces, as a list of byte strings."""
    _warm(pieces)
    out = [HEADER]
    crc = 0
    size = 0
    small = []

    def flush_small():
        if small:
            data = b"".join(small)
            small.clear()
            out.append(deflate_piece(data))
            return data
        return b""

    for p in pieces:
        if isinstance(p, (bytes, bytearray, memoryview)):
            small.append(bytes(p))
            crc = zlib.crc32(p, crc)
            size += len(p)
            continue
        flush_small()
        body = p.tail()
        crc = zlib.crc32(body, crc)
        size += len(body)
        out.append(p.gz_tail())
    flush_small()
    out.append(FINAL)
    out.append(struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return out
