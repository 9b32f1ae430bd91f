"""corral's corpus pipeline: Beam jobs that turn raw sources into Arrow shards."""
