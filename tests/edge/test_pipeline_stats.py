"""Track counting in the pipeline's statistics: each id once, memory bounded over months."""

from edge.pipeline import FORGET_IDS_AFTER_FRAMES, PipelineStats


def run_frames(stats: PipelineStats, frames: list[list[int]]) -> None:
    for ids in frames:
        stats.frames += 1
        stats.count_tracks(ids)


def test_each_track_id_counted_once_across_frames() -> None:
    stats = PipelineStats()
    run_frames(stats, [[1, 2], [1, 2], [2, 3], [], [3]])
    assert stats.tracks == 3


def test_a_day_of_tracks_keeps_only_recent_ids() -> None:
    stats = PipelineStats()
    # a new person every 10 frames, each seen for 40 frames: 30 000 frames, 3 000 people
    run_frames(stats, [[i // 10 - k for k in range(4) if i // 10 - k >= 0] for i in range(30_000)])
    assert stats.tracks == 3_000
    assert len(stats._recent_ids) <= 2 * FORGET_IDS_AFTER_FRAMES // 10 + 4
