"""Building blocks shared by every part: state machines and domain errors."""
