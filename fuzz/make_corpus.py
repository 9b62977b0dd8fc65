#!/usr/bin/python3
"""Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/: small valid files, where libFuzzer
starts) and the regression inputs (fuzz/regressions/<target>/: every input that once crashed,
hung or exhausted memory, replayed by tests/test_fuzz_regressions.cpp in every `make test`).

Standard library only: fuzz/make_corpus.py (run from anywhere). Inputs found by fuzzing itself are
copied into fuzz/regressions/<target>/ as libFuzzer saved them (oom_png_idat_declares_2GB).
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def save(kind, target, name, data):
    path = os.path.join(HERE, kind, target, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def be32(*values):
    return struct.pack(">" + "I" * len(values), *values)


def npy(shape, descr="<f4", data=None):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    count = 1
    for s in shape:
        count *= s
    body = data if data is not None else bytes(4 * count)
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def safetensors(header, data):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def png(w, h):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes([(x * 30 + y * 7) % 256 for x in range(3 * w)]) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main():
    # seeds
    save("corpus", "npy", "f4_2x3.npy", npy((2, 3)))
    save("corpus", "npy", "scalar.npy", npy((), data=struct.pack("<f", 2.5)))
    save("corpus", "safetensors", "two.safetensors",
         safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
                      "__metadata__": {"arch": "resnet20"}}, bytes(16)))
    images = be32(0x803, 2, 3, 3) + bytes(range(18))
    save("corpus", "idx", "2x3x3", images)
    save("corpus", "idx_gz", "2x3x3.gz", gzip.compress(images, mtime=0))
    save("corpus", "cifar", "one_record.bin", bytes([3]) + bytes(range(256)) * 12)
    save("corpus", "image", "png_4x3", b"\x00" + png(4, 3))
    # regressions (issue 19's findings)
    save("regressions", "idx", "sizes_overflow", be32(0x803, 0xFFFFFFFF, 0xFFFFFFC3, 0xFFFFFFFF))
    save("regressions", "idx", "sizes_wrap_to_192", be32(0x803, 4, 3221422086, 4294705160) + bytes(192))
    save("regressions", "idx_gz", "bomb_16MB.gz", gzip.compress(be32(0x803, 1, 1, 1) + bytes(16 << 20), 9, mtime=0))
    save("regressions", "npy", "shape_overflow.npy", npy((562949953421312, 32768), data=b""))
    save("regressions", "safetensors", "shape_wraps_to_0.safetensors",
         safetensors({"a": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}, b""))
    save("regressions", "image", "tga_in_png", b"\x00" + b"\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\x7f\xff\x7f\x18\x00")
    ihdr = struct.pack(">IIBBBBB", 1, 16777216, 8, 2, 0, 0, 0)
    save("regressions", "image", "png_1x16777216_header",
         b"\x00\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


if __name__ == "__main__":
    main()
