"""Writers that are killed, fail, race or would overwrite: nothing valid-looking is ever incomplete, reruns
finish the job, concurrent writers of different wells make a valid plate, and nothing is replaced unasked."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import dask.array as da
import numpy as np
import pytest

import ngffkit
from ngffkit.samples.examples import write_coins
from ngffkit.store.claim import MARKER
from ngffkit.writer import write_field, write_plate

from ..clirun import one_line_error, run

pytestmark = pytest.mark.timeout(300)

#: A writer slow enough to be caught in the middle: every input block sleeps before it is written, and with a
#: gate file named, waits until that file exists (so a test decides when it may finish, whatever the load).
SLOW_WRITER = textwrap.dedent("""
    import os, sys, time
    import dask.array as da
    import ngffkit

    def slow(block):
        time.sleep(float(sys.argv[2]))
        deadline = time.monotonic() + 120
        while block.size and len(sys.argv) > 3 and not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
            time.sleep(0.02)
        return block + 7

    data = da.zeros((32, 512, 512), chunks=(8, 128, 128), dtype="uint16").map_blocks(slow, dtype="uint16")
    ngffkit.write_image(data, sys.argv[1], chunks=(8, 64, 64), levels=3)
    print("written", flush=True)
""")


def start_writer(dest: pathlib.Path, delay: float = 0.05, gate: pathlib.Path | None = None) -> subprocess.Popen[str]:
    extra = [str(gate)] if gate is not None else []
    return subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(dest), str(delay), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def chunk_count(dest: pathlib.Path, level: str) -> int:
    folder = dest / level / "c"
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


@pytest.mark.parametrize("moment", ["first chunk", "deepest level"])
def test_killed_writer_leaves_nothing_valid_looking_and_rerun_finishes(tmp_path: pathlib.Path, moment: str) -> None:
    dest = tmp_path / "out.zarr"
    writer = start_writer(dest)
    wait_for(lambda: chunk_count(dest, "0" if moment == "first chunk" else "2") > 0)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert (dest / MARKER).exists()
    with pytest.raises(ngffkit.NotOMEZarr, match="unfinished write by ngffkit"):
        ngffkit.open(dest)
    assert "unfinished-write" in {f.rule for f in ngffkit.validate(dest).errors}
    line = one_line_error(run("info", str(dest)))
    assert "run the write again to finish it" in line
    rerun = start_writer(dest, delay=0)
    _, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    assert ngffkit.validate(dest).valid and not (dest / MARKER).exists()
    image = ngffkit.open(dest)
    assert len(image.levels) == 3 and int(image.levels[2].min().compute()) == 7


def test_a_failed_write_removes_what_it_wrote_and_can_be_redone(tmp_path: pathlib.Path) -> None:
    def explode(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info and block_info[None]["chunk-location"] == (1, 1):
            raise RuntimeError("disk full (simulated)")
        return block

    dest = tmp_path / "out.zarr"
    data = da.ones((128, 128), chunks=(64, 64), dtype="uint8")
    with pytest.raises(RuntimeError, match="disk full"):
        ngffkit.write_image(data.map_blocks(explode, dtype="uint8"), dest, chunks=(64, 64))
    assert not dest.exists()  # its own claimed, unfinished write: removed, nothing half-written is left
    with pytest.raises(ngffkit.NotFound):
        ngffkit.open(dest)
    empty = tmp_path / "chosen-folder"
    empty.mkdir()  # a folder the user made for the result stays, empty, when the write fails
    with pytest.raises(RuntimeError, match="disk full"):
        ngffkit.write_image(data.map_blocks(explode, dtype="uint8"), empty, chunks=(64, 64))
    assert empty.is_dir() and not any(empty.iterdir())
    ngffkit.write_image(data, dest, chunks=(64, 64))
    assert int(ngffkit.open(dest).levels[0].sum().compute()) == 128 * 128


def test_a_failing_input_file_is_named_not_the_destination(tmp_path: pathlib.Path) -> None:
    """An OSError from the caller's own input (a TIFF on a network drive that went away) names that file; only
    the destination's own refusals say "cannot write here"."""

    def unreadable(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info and block_info[None]["chunk-location"] == (1, 1):
            raise OSError(5, "Input/output error", "/mnt/nas/raw/stack.tif")
        return block

    dest = tmp_path / "out.zarr"
    data = da.ones((128, 128), chunks=(64, 64), dtype="uint8")
    with pytest.raises(ngffkit.LocationError) as caught:
        ngffkit.write_image(data.map_blocks(unreadable, dtype="uint8"), dest, chunks=(64, 64))
    assert caught.value.where == "/mnt/nas/raw/stack.tif"
    assert "reading the data to write failed: Input/output error" in str(caught.value)
    assert not dest.exists()
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ngffkit.LocationError) as caught:  # the destination's own failure names the destination
        ngffkit.write_image(data, tmp_path / "a-file" / "out.zarr", chunks=(64, 64))
    assert caught.value.where.endswith("out.zarr") and "reading the data" not in str(caught.value)


#: Two writers of one plate that are made to overlap: each, at its first block (its first field claimed and being
#: written), leaves a file saying so and waits for the other's -- so both are writing at the same moment, whatever
#: the machine's speed (a writer whose partner never comes fails, naming it).
PLATE_WRITER = textwrap.dedent("""
    import os, sys, time
    import dask.array as da
    from ngffkit.writer import write_field

    plate, me, partner, wells = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    met = []

    def meet(block):
        if not met:
            open(me, "w").close()
            deadline = time.monotonic() + 120
            while not os.path.exists(partner):
                if time.monotonic() > deadline:
                    raise RuntimeError("the other writer never wrote at the same time")
                time.sleep(0.01)
            met.append(True)
        return block

    for well in wells:
        for field in (0, 1):
            value = 10 * (ord(well[0]) - 64) + int(well[-1]) + 100 * field
            data = da.full((2, 256, 256), value, chunks=(1, 64, 64), dtype="uint16").map_blocks(meet)
            write_field(plate, well, field, data, axes="cyx", chunks=(1, 64, 64))
    print("met" if met else "alone")
""")


def test_two_processes_write_different_wells_of_one_plate(tmp_path: pathlib.Path) -> None:
    plate = tmp_path / "plate.zarr"
    write_plate(plate, ["A", "B"], ["1", "2"], ["A/1", "A/2", "B/1", "B/2"], fields=2)
    first, second = str(tmp_path / "first-writing"), str(tmp_path / "second-writing")
    jobs = ((first, second, ["A/1", "B/2"]), (second, first, ["A/2", "B/1"]))
    command = [sys.executable, "-c", PLATE_WRITER, str(plate)]
    writers = [subprocess.Popen([*command, me, partner, *wells], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for me, partner, wells in jobs]  # fmt: skip
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0 and out.strip() == "met", err  # both wrote at the same time
    report = ngffkit.validate(plate)
    assert report.valid, report.findings
    opened = ngffkit.open(plate)
    assert isinstance(opened, ngffkit.Plate)
    for well, value in (("A/1", 11), ("A/2", 12), ("B/1", 21), ("B/2", 22)):
        for field in (0, 1):
            image = opened.well(well).field(field)  # type: ignore[union-attr]
            assert int(image.levels[0][0, 0, 0].compute()) == value + 100 * field  # type: ignore[union-attr]


def test_two_processes_writing_one_target_one_clear_error(tmp_path: pathlib.Path) -> None:
    dest = tmp_path / "same.zarr"
    gate = tmp_path / "finish"
    first = start_writer(dest, gate=gate)
    wait_for((dest / MARKER).exists)
    second = start_writer(dest)
    _, err2 = second.communicate(timeout=120)
    gate.touch()  # the first writer may finish only once the second has given up
    _, err1 = first.communicate(timeout=240)
    assert first.returncode == 0, err1
    assert second.returncode != 0
    assert "AlreadyExists" in err2 and "another ngffkit writer is writing here" in err2
    assert ngffkit.validate(dest).valid
    # the CLI says the same in one line
    gate.unlink()
    busy = start_writer(tmp_path / "cli.zarr", gate=gate)
    wait_for((tmp_path / "cli.zarr" / MARKER).exists)
    np.save(tmp_path / "x.npy", np.zeros((64, 64), np.uint8))
    assert "another ngffkit writer" in one_line_error(
        run("convert", str(tmp_path / "x.npy"), str(tmp_path / "cli.zarr"), "--overwrite")
    )
    gate.touch()
    busy.communicate(timeout=240)
    assert busy.returncode == 0


def test_nothing_is_replaced_without_overwrite(tmp_path: pathlib.Path) -> None:
    image = write_coins(tmp_path / "coins.zarr")
    plate = tmp_path / "plate.zarr"
    write_plate(plate, ["A"], ["1"], ["A/1"], fields=1)
    write_field(plate, "A/1", 0, np.ones((2, 32, 32), np.uint16), axes="cyx")
    ozx = tmp_path / "coins.ozx"
    ngffkit.write_image(np.ones((8, 8), np.uint8), ozx)
    np.save(tmp_path / "a.npy", np.ones((16, 16), np.uint8))
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.txt").write_text("years of work")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    attempts = [
        lambda: ngffkit.write_image(np.zeros((8, 8), np.uint8), image),
        lambda: ngffkit.write_labels(np.zeros((303, 384), np.uint8), image, "coins"),
        lambda: write_plate(plate, ["A"], ["1"], ["A/1"]),
        lambda: ngffkit.write_well(plate / "A" / "1", ["0"]),
        lambda: write_field(plate, "A/1", 0, np.zeros((2, 32, 32), np.uint16), axes="cyx"),
        lambda: ngffkit.write_image(np.zeros((8, 8), np.uint8), ozx),
        lambda: ngffkit.write_image(np.zeros((8, 8), np.uint8), other),
        lambda: ngffkit.write_image(np.zeros((8, 8), np.uint8), other, overwrite=True),  # not zarr: never
        lambda: ngffkit.write_image(np.zeros((8, 8), np.uint8), other / "thesis.txt", overwrite=True),
    ]
    for attempt in attempts:
        with pytest.raises(ngffkit.AlreadyExists):
            attempt()
    for args in (["convert", str(tmp_path / "a.npy"), str(image)], ["scale", str(image / "0"), str(image)],
                 ["zip", str(image), str(ozx)], ["create", str(image)], ["create", "--kind", "plate", str(plate)],
                 ["download", str(image), str(other)], ["finder", str(tmp_path), "-o", str(other / "thesis.txt")]):  # fmt: skip
        proc = run(*args)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, args
        assert "--overwrite" in proc.stderr or "choose another folder" in proc.stderr, (args, proc.stderr)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
