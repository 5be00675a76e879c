"""Constants shared by every stage of musiclatent.

The event-token convention (130 classes per step) is part of the public API:

* ``HOLD = 0``   no new event: the previous note sustains, or silence continues;
* ``REST = 1``   note-off: silence begins;
* ``NOTE_ON_OFFSET + p`` (``2 + p``) note-on of MIDI pitch ``p`` (0..127).
"""

from pathlib import Path

PRETRAINED_DIR = Path(__file__).parent / "pretrained"  # the shipped model folders

STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # one 4/4 (or 2/2) bar at 4 steps per quarter: the models' bar
NUM_PITCHES = 128

HOLD = 0
REST = 1
NOTE_ON_OFFSET = 2
NUM_CLASSES = NOTE_ON_OFFSET + NUM_PITCHES  # 130

# Piano-roll cell values (see musiclatent.midi.pianoroll)
ROLL_OFF = 0
ROLL_SUSTAIN = 1
ROLL_ONSET = 2

DEFAULT_QPM = 120.0
DEFAULT_TIME_SIGNATURE = (4, 4)
DEFAULT_VELOCITY = 90
DEFAULT_PROGRAM = 0  # Acoustic Grand Piano
DEFAULT_RESOLUTION = 480  # ticks per quarter in written MIDI files

# Phrase filtering
MIN_SOUNDING_FRACTION = 0.4  # windows sounding less than this are "mostly silence"
MIN_NOTES_PER_PHRASE = 2

# Transposition augmentation keeps pitches in this (inclusive) range
AUGMENT_MIN_PITCH = 21
AUGMENT_MAX_PITCH = 108

# Safety limits for reading untrusted files
MAX_FILE_BYTES = 5 * 1024 * 1024   # 5 MB
MAX_NOTES = 200_000                # notes in a whole file, before melody extraction
MAX_TICKS = 50_000_000             # absolute tick of the last event
MAX_QUARTERS = 8 * 60 * 60         # cut songs after this many quarter notes (~1 h at 480 qpm)
MAX_BAR_STEPS = 16 * 4             # bars longer than this are not music we can model

STYLE_ANY = "any"  # the "unconditioned" style name; its id is always 0

MELODY_NAME_HINTS = ("melody", "melodie", "vocal", "voice", "lead", "solo", "sing", "tune", "soprano")
