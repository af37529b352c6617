"""Reserved: filled by a later issue."""
