"""A class whose unpickling writes a marker file: what a hostile .skops file would make a careless loader build."""

from pathlib import Path


class WritesMarker:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).write_text("the payload ran")
        self.__dict__.update(state)
