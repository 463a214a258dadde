#!/usr/bin/env python3
"""gguf-set-str.py - copy a GGUF file with one string metadata key set (added,
or its value replaced); every other key, every tensor and its bytes unchanged.
How the demo pair got its chat template (models/demo/README.md):

    tools/gguf-set-str.py IN.gguf tokenizer.chat_template TEMPLATE.jinja OUT.gguf

Standard library only. Reads GGUF v2/v3 little-endian; checks every length.
"""
import struct
import sys

# value type -> fixed size (strings and arrays are handled apart)
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
STR, ARR = 8, 9


class Cursor:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, n):
        if n < 0 or self.p + n > len(self.d):
            sys.exit(f"gguf-set-str: truncated file at byte {self.p}")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        return self.take(self.u64())

    def skip_value(self, vtype):
        if vtype in FIXED:
            self.take(FIXED[vtype])
        elif vtype == STR:
            self.string()
        elif vtype == ARR:
            et, n = self.u32(), self.u64()
            if et == STR:
                for _ in range(n):
                    self.string()
            elif et in FIXED:
                self.take(FIXED[et] * n)
            else:
                sys.exit(f"gguf-set-str: array of type {et} not supported")
        else:
            sys.exit(f"gguf-set-str: unknown value type {vtype}")


def gguf_str(b):
    return struct.pack("<Q", len(b)) + b


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, key, value_file, dst = sys.argv[1:]
    data = open(src, "rb").read()
    value = open(value_file, "rb").read()
    c = Cursor(data)
    if c.take(4) != b"GGUF":
        sys.exit(f"gguf-set-str: {src}: not a GGUF file")
    version = c.u32()
    if version not in (2, 3):
        sys.exit(f"gguf-set-str: {src}: GGUF version {version} not supported")
    n_tensors, n_kv = c.u64(), c.u64()
    kvs, alignment = [], 32
    for _ in range(n_kv):
        start = c.p
        name = c.string()
        vtype = c.u32()
        vstart = c.p
        c.skip_value(vtype)
        if name == b"general.alignment" and vtype == 4:
            alignment = struct.unpack("<I", data[vstart:vstart + 4])[0]
        kvs.append((name, data[start:c.p]))
    tinfo_start = c.p
    for _ in range(n_tensors):
        c.string()
        n_dims = c.u32()
        c.take(8 * n_dims + 4 + 8)
    tinfo = data[tinfo_start:c.p]
    data_start = (c.p + alignment - 1) // alignment * alignment
    tensor_data = data[data_start:]

    new_kv = gguf_str(key.encode()) + struct.pack("<I", STR) + gguf_str(value)
    out_kvs = [raw if name != key.encode() else new_kv for name, raw in kvs]
    if all(name != key.encode() for name, _ in kvs):
        out_kvs.append(new_kv)
    head = b"GGUF" + struct.pack("<IQQ", version, n_tensors, len(out_kvs))
    body = head + b"".join(out_kvs) + tinfo
    pad = (-len(body)) % alignment
    with open(dst, "wb") as f:
        f.write(body + b"\0" * pad + tensor_data)


if __name__ == "__main__":
    main()
