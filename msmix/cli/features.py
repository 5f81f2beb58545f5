"""``msmix features``: an MMSA-format feature pickle from a label.csv, transcripts and media."""

from __future__ import annotations

import argparse
from typing import Any

from msmix.cli import catalog
from msmix.cli.common import UsageError

_EPILOG = """\
Examples:
  msmix features label.csv --out mosi_text.pkl                  # text only (audio, vision missing)
  msmix features label.csv --media Raw/ --out mine.pkl           # + eGeMAPS audio of each clip
  msmix features label.csv --media Raw/ --openface OpenFace/ --audio librosa --out mine.pkl

A clip's media are found as FOLDER/<video_id>/<clip_id>.<ext> or FOLDER/<video_id>_<clip_id>.<ext>
(wav, flac, mp3, m4a, ogg or a video's sound track); its OpenFace CSV likewise with .csv.
Run again after a stop: finished chunks in OUT.parts/ are kept.
"""


def add(commands: Any) -> None:
    """Register ``msmix features`` on the subcommand parser."""
    p = commands.add_parser(
        "features", help="write an MMSA-format feature pickle from a label.csv and media",
        description="From an MMSA label.csv (video_id,clip_id,text,label,...,mode or id,text,label,mode) write "
        "an MMSA-format .pkl that msmix train reads: per-token text states of a local transformers encoder at "
        "every position, with MMSA's text_bert tokens; audio frame features where media exist; OpenFace action "
        "units where CSVs are given. A modality without a source is marked missing (length 0), never invented.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("label_csv", metavar="LABEL_CSV", help="MMSA's label.csv")
    p.add_argument("--out", required=True, metavar="FILE.pkl", help="the feature pickle to write")
    p.add_argument("--media", action="append", default=[], metavar="DIR", help="a folder of clips' audio or video (repeatable)")
    p.add_argument("--openface", action="append", default=[], metavar="DIR", help="a folder of OpenFace CSVs, one per clip (repeatable)")
    p.add_argument("--text-encoder", metavar="PATH", help="a local transformers model folder (default: all-MiniLM-L6-v2)")
    p.add_argument("--audio", choices=list(catalog.audio_extractors()), default="egemaps", help="audio features: openSMILE eGeMAPS, 25-d (default), or librosa MFCC + ZCR + chroma, 33-d")
    p.add_argument("--text-length", type=int, default=50, metavar="N", help="tokens per transcript (default: 50, as MMSA)")
    p.add_argument("--max-frames", type=int, default=500, metavar="N", help="longer audio/vision sequences keep N evenly spaced frames (default: 500)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run ``msmix features``; returns the exit status."""
    if not args.out.endswith(".pkl"):
        raise UsageError(f"--out must name a .pkl file, got {args.out}")
    from msmix.features import FeatureSettings, build_features

    try:
        settings = FeatureSettings(
            text_encoder=args.text_encoder, text_length=args.text_length, audio=args.audio, max_frames=args.max_frames
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    report = build_features(args.label_csv, args.out, media=args.media, openface=args.openface, settings=settings,
                            progress=not args.quiet)
    print(report.summary())
    return 0
