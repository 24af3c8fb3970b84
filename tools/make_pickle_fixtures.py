#!/usr/bin/env python3
"""Writes tests/fixtures/torch_pickle/: checkpoints for the engine's torch.save reader
(engine/io/torch_pickle.h, engine/io/torch_checkpoint.h).

- values_p2.pt, values_p4.pt: real torch.save outputs (pickle protocols 2 and 4) of a dict
  holding a state dict with every supported dtype, strided views sharing a storage, a
  Parameter, 0-d and empty tensors, and plain values; values_expected.safetensors holds the
  same tensors, contiguous, as "model.NAME".
- int16.pt: a real torch.save output with an int16 tensor.
- zip64_deflate.pt: the records of values_p2.pt repacked deflated, with zip64 headers.
- The rest are malformed on purpose. Their pickles are assembled here opcode by opcode, so
  nothing dangerous is ever built or executed: a file naming os.system holds the bytes of
  a GLOBAL opcode, not a pickled function.

Run by hand, never in CI:  tools/setup_torch_env.sh && .venv-torch/bin/python tools/make_pickle_fixtures.py
"""
import collections
import io
import pickletools
import struct
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures" / "torch_pickle"


# ---------------------------------------------------------------------------------------------
# Pickle opcodes, written as bytes (the names are pickletools' opcode names).

def proto(version):
    return b"\x80" + bytes([version])


def global_(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def unicode(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def short_unicode(text):
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def binint(value):
    return b"J" + struct.pack("<i", value)


MARK, TUPLE, EMPTY_TUPLE, REDUCE, BINPERSID = b"(", b"t", b")", b"R", b"Q"
EMPTY_DICT, SETITEMS, EMPTY_LIST, APPEND, NEWFALSE, STOP = b"}", b"u", b"]", b"a", b"\x89", b"."


def int_tuple(values):
    return MARK + b"".join(binint(v) for v in values) + TUPLE


def rebuild_tensor(storage_type, key, numel, offset, size, stride):
    """The opcodes torch.save emits for one tensor: _rebuild_tensor_v2(storage, offset, size,
    stride, False, OrderedDict()), with the storage named by persistent id."""
    persistent_id = MARK + unicode("storage") + global_("torch", storage_type) + unicode(key) + unicode("cpu")
    persistent_id += binint(numel) + TUPLE + BINPERSID
    hooks = global_("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE
    arguments = MARK + persistent_id + binint(offset) + int_tuple(size) + int_tuple(stride) + NEWFALSE + hooks + TUPLE
    return global_("torch._utils", "_rebuild_tensor_v2") + arguments + REDUCE


def state_dict_pickle(entries):
    """{name: tensor opcodes} as an OrderedDict, the way torch.save writes a state dict."""
    body = b"".join(unicode(name) + tensor for name, tensor in entries)
    return proto(2) + global_("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + MARK + body + SETITEMS + STOP


def check_pickle(data):
    """Disassembles without executing, to prove the bytes are the intended program."""
    pickletools.dis(data, out=io.StringIO())


# ---------------------------------------------------------------------------------------------
# Zip archives laid out like torch.save's, with optional deflate and zip64 headers.

def zip_archive(records, deflate=False, zip64=False, align=True):
    """records: [(name, bytes)] (bytes may be (bytes, crc) to force a CRC). Returns the file."""
    out = bytearray()
    central = bytearray()
    for name, payload in records:
        data, crc = payload if isinstance(payload, tuple) else (payload, zlib.crc32(payload))
        name_bytes = name.encode()
        if deflate:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            stored = compressor.compress(data) + compressor.flush()
            method = 8
        else:
            stored, method = data, 0
        offset = len(out)
        local_extra = b""
        if zip64:
            local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(stored))
        if align and not deflate:
            # Pads the extra field so the data starts on a 64-byte boundary, as torch.save does.
            start = offset + 30 + len(name_bytes) + len(local_extra) + 4
            pad = (-start) % 64
            local_extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        small = 0xFFFFFFFF if zip64 else None
        out += struct.pack("<IHHHHHIII HH".replace(" ", ""), 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0x21,
                           crc, small or len(stored), small or len(data), len(name_bytes), len(local_extra))
        out += name_bytes + local_extra + stored
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(stored), offset) if zip64 else b""
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20, 45 if zip64 else 20, 0, method,
                               0, 0x21, crc, small or len(stored), small or len(data), len(name_bytes),
                               len(central_extra), 0, 0, 0, 0, small or offset)
        central += name_bytes + central_extra
    directory_offset = len(out)
    out += central
    count = len(records)
    if zip64:
        end64_offset = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), directory_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, end64_offset, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), directory_offset, 0)
    archive = bytes(out)
    if all(not isinstance(payload, tuple) for _, payload in records):
        assert zipfile.ZipFile(io.BytesIO(archive)).testzip() is None
    return archive


def torch_records(pickle_bytes, storages, byteorder=b"little", prefix="archive"):
    records = [(f"{prefix}/data.pkl", pickle_bytes), (f"{prefix}/byteorder", byteorder)]
    records += [(f"{prefix}/data/{key}", data) for key, data in storages]
    records.append((f"{prefix}/version", b"3\n"))
    return records


def floats(count):
    return struct.pack(f"<{count}f", *[float(i) for i in range(count)])


# ---------------------------------------------------------------------------------------------

def real_checkpoints():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    state = collections.OrderedDict([
        ("base", base),
        ("transposed", base.t()),                      # shares base's storage, strides (1, 6)
        ("window", base[1:, 2:5]),                     # storage offset 8, strides (6, 1)
        ("every_other", base.reshape(-1)[1::2]),       # stride 2
        ("half", torch.linspace(-2, 2, 5).half()),
        ("bfloat", torch.linspace(-3, 3, 7).bfloat16()),
        ("double", torch.tensor([1e-300, -2.5, 3.25], dtype=torch.float64)),
        ("long", torch.tensor([-(2**40), 0, 2**62])),
        ("int", torch.tensor([-7, 8, 9], dtype=torch.int32)),
        ("byte", torch.tensor([0, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("parameter", torch.nn.Parameter(torch.tensor([0.5, -0.5]))),
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 3)),
    ])
    checkpoint = {
        "model": state,
        "epoch": 7, "negative": -5, "large": 2**40, "learning_rate": 0.25, "nothing": None,
        "flag": True, "off": False, "name": "micro" * 60, "values": [1, 2.5, "text", None],
        "pair": (1, (2, 3)), "by_index": {3: "three", 4: [5]},
    }
    torch.save(checkpoint, OUT_DIR / "values_p2.pt")
    torch.save(checkpoint, OUT_DIR / "values_p4.pt", pickle_protocol=4)
    save_file({f"model.{k}": v.detach().contiguous().clone() for k, v in state.items()},
              OUT_DIR / "values_expected.safetensors")
    torch.save({"weight": torch.arange(3, dtype=torch.int16)}, OUT_DIR / "int16.pt")

    # The same records, deflated and with zip64 headers.
    with zipfile.ZipFile(OUT_DIR / "values_p2.pt") as original:
        records = [(info.filename, original.read(info.filename)) for info in original.infolist()]
    (OUT_DIR / "zip64_deflate.pt").write_bytes(zip_archive(records, deflate=True, zip64=True))


def crafted_checkpoints():
    def write(name, pickle_bytes, storages=(), **options):
        (OUT_DIR / name).write_bytes(zip_archive(torch_records(pickle_bytes, list(storages), **options)))

    weight = rebuild_tensor("FloatStorage", "0", 8, 0, (2, 4), (4, 1))
    valid = state_dict_pickle([("weight", weight)])
    check_pickle(valid)

    # Globals that a malicious file would use to run code; each must be refused by name.
    os_system = proto(2) + global_("os", "system") + unicode("echo owned") + b"\x85" + REDUCE + STOP
    check_pickle(os_system)
    write("forbidden_os_system.pt", os_system)
    framed = short_unicode("builtins") + short_unicode("eval") + b"\x93" + short_unicode("print(1)") + b"\x85"
    builtins_eval = proto(4) + b"\x95" + struct.pack("<Q", len(framed) + 2) + framed + REDUCE + STOP
    check_pickle(builtins_eval)
    write("forbidden_builtins_eval.pt", builtins_eval)
    evil = global_("posix", "system") + unicode("id") + b"\x85" + REDUCE
    nested = state_dict_pickle([("weight", weight), ("evil", evil)])
    check_pickle(nested)
    write("forbidden_nested_posix_system.pt", nested, [("0", floats(8))])

    # Opcodes: a byte that is no opcode, and INST, a real opcode that imports and calls.
    unknown = proto(2) + EMPTY_DICT + b"\xff" + STOP
    write("unknown_opcode.pt", unknown)
    inst = proto(2) + MARK + unicode("id") + b"ios\nsystem\n" + STOP
    write("inst_opcode.pt", inst)

    # Storages: absent from the archive, smaller than the view, or a different size on disk.
    absent = rebuild_tensor("FloatStorage", "7", 8, 0, (2, 4), (4, 1))
    write("missing_storage.pt", state_dict_pickle([("weight", absent)]), [("0", floats(8))])
    too_large_view = rebuild_tensor("FloatStorage", "0", 8, 0, (4, 4), (4, 1))
    write("storage_too_small.pt", state_dict_pickle([("weight", too_large_view)]), [("0", floats(8))])
    write("storage_size_mismatch.pt", valid, [("0", floats(6))])

    # The archive: no data.pkl, a big-endian file, a corrupt CRC, a pickle cut short.
    (OUT_DIR / "no_data_pkl.pt").write_bytes(
        zip_archive([("archive/byteorder", b"little"), ("archive/data/0", floats(8)), ("archive/version", b"3\n")]))
    write("big_endian.pt", valid, [("0", floats(8))], byteorder=b"big")
    corrupt = zip_archive([("archive/data.pkl", valid), ("archive/byteorder", b"little"),
                           ("archive/data/0", (floats(8), zlib.crc32(floats(8)) ^ 1)), ("archive/version", b"3\n")])
    (OUT_DIR / "crc_mismatch.pt").write_bytes(corrupt)
    write("truncated_pickle.pt", valid[: len(valid) // 2], [("0", floats(8))])

    # Structures no state dict has: a list holding itself, and nesting 1000 levels deep.
    recursive = proto(2) + EMPTY_LIST + b"q\x00" + b"h\x00" + APPEND + STOP
    check_pickle(recursive)
    write("recursive.pt", recursive)
    deep = proto(2) + EMPTY_LIST * 1000 + APPEND * 999 + STOP
    check_pickle(deep)
    write("deep.pt", deep)

    # A valid hand-made state dict, for the reader's own zip layout; and the same with the
    # storage at an odd offset, as zip writers that do not align (older PyTorch) may leave it.
    write("handmade_valid.pt", valid, [("0", floats(8))])
    unaligned = zip_archive(torch_records(valid, [("0", floats(8))]), align=False)
    assert unaligned.index(floats(8)) % 4 != 0
    (OUT_DIR / "unaligned.pt").write_bytes(unaligned)


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    real_checkpoints()
    crafted_checkpoints()
    for path in sorted(OUT_DIR.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
