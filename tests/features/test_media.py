"""Finding a clip's media file: both layouts, any case, suffix priority, several folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from msmix.features.media import AUDIO_SUFFIXES, OPENFACE_SUFFIXES, MediaIndex


def _touch(root: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        paths.append(path)
    return paths


def test_nested_layout(tmp_path: Path) -> None:
    (wav,) = _touch(tmp_path, "video_0001/0003.wav")
    _touch(tmp_path, "video_0001/0002.wav", "video_0002/0003.wav")
    index = MediaIndex([tmp_path])
    assert index.find("video_0001", "0003", (".wav",)) == wav
    assert len(index) == 3


def test_flat_layout(tmp_path: Path) -> None:
    (mp4,) = _touch(tmp_path, "03bSnISJMiM_11.mp4")
    _touch(tmp_path, "03bSnISJMiM_1.mp4", "03bSnISJMiM_110.mp4")
    assert MediaIndex([tmp_path]).find("03bSnISJMiM", "11", (".mp4",)) == mp4


def test_clip_absent_is_none(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "v/1.wav.bak", "v/1.wave", "v/10.wav", "v/sub/1.wav", "w/1.wav", "v_10.wav", "xv_1.wav", "v_1",
        "v1.wav", "sub/v/1.wav",
    )
    index = MediaIndex([tmp_path])
    assert index.find("v", "1", AUDIO_SUFFIXES) is None
    assert index.find("v", "1", (".wav",)) is None
    assert index.find("v", "10", (".mp4",)) is None  # the clip exists, not with this suffix
    assert index.find("v", "10", ()) is None


def test_empty_folder(tmp_path: Path) -> None:
    index = MediaIndex([tmp_path])
    assert len(index) == 0 and index.find("v", "1", AUDIO_SUFFIXES) is None


def test_folders_are_not_files(tmp_path: Path) -> None:
    """A folder named like a media file is not a clip."""
    (tmp_path / "v" / "1.wav").mkdir(parents=True)
    index = MediaIndex([tmp_path])
    assert len(index) == 0 and index.find("v", "1", (".wav",)) is None


@pytest.mark.parametrize(
    ("name", "video", "clip", "suffix"),
    [
        ("Video_A/Clip_1.WAV", "video_a", "clip_1", ".wav"),
        ("video_a/clip_1.wav", "VIDEO_A", "CLIP_1", ".WAV"),
        ("ViDeO_a_ClIp_1.Mp4", "video_A", "Clip_1", ".mP4"),
        ("abc/DEF.csv", "ABC", "def", ".CSV"),
    ],
)
def test_case_insensitive(tmp_path: Path, name: str, video: str, clip: str, suffix: str) -> None:
    (path,) = _touch(tmp_path, name)
    found = MediaIndex([tmp_path]).find(video, clip, (suffix,))
    assert found == path and found.name == Path(name).name  # the real name, as it is on disk


@pytest.mark.parametrize("layout", ["{v}/{c}{s}", "{v}_{c}{s}"])
def test_suffix_priority_in_each_layout(tmp_path: Path, layout: str) -> None:
    wav, mp4 = _touch(tmp_path, layout.format(v="v", c="7", s=".wav"), layout.format(v="v", c="7", s=".mp4"))
    index = MediaIndex([tmp_path])
    assert index.find("v", "7", (".wav", ".mp4")) == wav
    assert index.find("v", "7", (".mp4", ".wav")) == mp4
    assert index.find("v", "7", (".flac", ".mp4", ".wav")) == mp4
    assert index.find("v", "7", AUDIO_SUFFIXES) == wav  # sound files before videos


def test_suffix_priority_across_layouts(tmp_path: Path) -> None:
    """The suffix order decides first, whichever layout each file is in."""
    flat_wav, nested_mp4 = _touch(tmp_path, "v_7.wav", "v/7.mp4")
    index = MediaIndex([tmp_path])
    assert index.find("v", "7", (".wav", ".mp4")) == flat_wav
    assert index.find("v", "7", (".mp4", ".wav")) == nested_mp4


def test_same_suffix_in_both_layouts_finds_one_of_them(tmp_path: Path) -> None:
    paths = _touch(tmp_path, "v_7.wav", "v/7.wav")
    index = MediaIndex([tmp_path])
    found = index.find("v", "7", (".wav",))
    assert found in paths and index.find("v", "7", (".wav",)) == found


def test_audio_suffixes_find_a_video_when_there_is_no_sound_file(tmp_path: Path) -> None:
    (mkv,) = _touch(tmp_path, "v/7.mkv")
    _touch(tmp_path, "v/7.csv", "v/7.txt")
    index = MediaIndex([tmp_path])
    assert index.find("v", "7", AUDIO_SUFFIXES) == mkv
    assert index.find("v", "7", OPENFACE_SUFFIXES) == tmp_path / "v" / "7.csv"


def test_several_folders(tmp_path: Path) -> None:
    audio, faces, extra = tmp_path / "audio", tmp_path / "faces", tmp_path / "extra"
    (wav,) = _touch(audio, "v/1.wav")
    (csv,) = _touch(faces, "v_1.csv")
    (mp4,) = _touch(extra, "v/2.mp4")
    index = MediaIndex([audio, str(faces), extra])
    assert len(index) == 3
    assert index.find("v", "1", (".wav",)) == wav
    assert index.find("v", "1", (".csv",)) == csv
    assert index.find("v", "2", AUDIO_SUFFIXES) == mp4
    assert index.find("v", "3", AUDIO_SUFFIXES) is None


def test_several_folders_same_file_first_folder_wins(tmp_path: Path) -> None:
    (first,) = _touch(tmp_path / "a", "v/1.wav")
    (second,) = _touch(tmp_path / "b", "V/1.WAV")
    assert MediaIndex([tmp_path / "a", tmp_path / "b"]).find("v", "1", (".wav",)) == first
    assert MediaIndex([tmp_path / "b", tmp_path / "a"]).find("v", "1", (".wav",)) == second


def test_several_folders_suffix_order_beats_folder_order(tmp_path: Path) -> None:
    (mp4,) = _touch(tmp_path / "a", "v/1.mp4")
    (wav,) = _touch(tmp_path / "b", "v_1.wav")
    index = MediaIndex([tmp_path / "a", tmp_path / "b"])
    assert index.find("v", "1", (".wav", ".mp4")) == wav
    assert index.find("v", "1", (".mp4", ".wav")) == mp4


def test_nested_folder_given_as_media_root(tmp_path: Path) -> None:
    """Files are keyed relative to the folder given: one level down, the video folder is the root itself."""
    (wav,) = _touch(tmp_path, "raw/v/1.wav")
    assert MediaIndex([tmp_path / "raw"]).find("v", "1", (".wav",)) == wav
    assert MediaIndex([tmp_path]).find("v", "1", (".wav",)) is None


def test_nonexistent_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    with pytest.raises(FileNotFoundError, match="no_such_folder"):
        MediaIndex([missing])


def test_nonexistent_folder_among_good_ones(tmp_path: Path) -> None:
    _touch(tmp_path / "good", "v/1.wav")
    with pytest.raises(FileNotFoundError, match="missing_one"):
        MediaIndex([tmp_path / "good", tmp_path / "missing_one"])


def test_file_given_as_folder(tmp_path: Path) -> None:
    (path,) = _touch(tmp_path, "clip.wav")
    with pytest.raises(FileNotFoundError, match="clip.wav"):
        MediaIndex([path])


def test_no_folders() -> None:
    index = MediaIndex([])
    assert len(index) == 0 and index.find("v", "1", AUDIO_SUFFIXES) is None


def test_audio_suffixes_order() -> None:
    sounds = (".wav", ".flac", ".mp3", ".m4a", ".ogg")
    assert AUDIO_SUFFIXES[: len(sounds)] == sounds and {".mp4", ".mkv", ".webm", ".avi", ".mov"} == set(AUDIO_SUFFIXES[5:])
    assert OPENFACE_SUFFIXES == (".csv",)
