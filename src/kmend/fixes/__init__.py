"""Upstream fix finding and ranking: which later commits fix a crash, with evidence."""
