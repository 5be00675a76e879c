"""Everything that turns music files into melodies and back."""
