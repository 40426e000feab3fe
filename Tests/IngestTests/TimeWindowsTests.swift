import EmoCFG
import Foundation
import Ingest
import XCTest

/// Cutting videos into time windows and aggregating frame labels over them.
final class TimeWindowsTests: XCTestCase {
    func spans(_ frames: Int, fps: Double, window: Double, stride: Double) -> [[Int]] {
        TimeWindows.cut(frameCount: frames, fps: fps, window: window, stride: stride).map { [$0.firstFrame, $0.endFrame] }
    }

    func test_windows_tile_the_video_and_the_last_one_is_cut_short_at_the_end() {
        XCTAssertEqual(spans(10, fps: 10, window: 0.4, stride: 0.4), [[0, 4], [4, 8], [8, 10]])
        XCTAssertEqual(spans(8, fps: 10, window: 0.4, stride: 0.4), [[0, 4], [4, 8]])
    }

    func test_overlapping_windows_stop_once_one_reaches_the_end() {
        // A stride of half a window: no window lies wholly inside the one before it.
        XCTAssertEqual(spans(10, fps: 10, window: 0.4, stride: 0.2), [[0, 4], [2, 6], [4, 8], [6, 10]])
    }

    func test_a_stride_longer_than_the_window_leaves_gaps() {
        XCTAssertEqual(spans(10, fps: 10, window: 0.2, stride: 0.5), [[0, 2], [5, 7]])
    }

    func test_window_lengths_round_to_whole_frames_and_never_to_zero() {
        XCTAssertEqual(spans(10, fps: 25, window: 0.3, stride: 0.3), [[0, 8], [8, 10]])  // 7.5 frames -> 8
        XCTAssertEqual(spans(3, fps: 10, window: 0.01, stride: 0.01), [[0, 1], [1, 2], [2, 3]])
    }

    func test_a_window_is_seconds_from_its_frames_and_the_rate() {
        let w = TimeWindows.cut(frameCount: 6, fps: 10, window: 0.3, stride: 0.3)
        XCTAssertEqual(w.map(\.window), [TimeWindow(start: 0, end: 0.3), TimeWindow(start: 0.3, end: 0.6)])
        XCTAssertEqual(w.map(\.count), [3, 3])
    }

    func test_no_frames_or_no_rate_gives_no_windows() {
        XCTAssertEqual(spans(0, fps: 30, window: 4, stride: 4), [])
        XCTAssertEqual(spans(100, fps: 0, window: 4, stride: 4), [])
    }

    func test_majority_ignores_invalid_frames_and_breaks_ties_by_first_appearance() {
        XCTAssertEqual(TimeWindows.majority([nil, 4, nil, nil, 0, 4]), 4)
        XCTAssertEqual(TimeWindows.majority([0, 4, 4, 0]), 0)
        XCTAssertEqual(TimeWindows.majority([4, 0, 0, 4]), 4)
        XCTAssertNil(TimeWindows.majority([Int?.none, nil]))
    }

    func test_any_frame_lists_every_valid_class_in_time_order() {
        XCTAssertEqual(TimeWindows.present([5, nil, 2, 5, 7]), [5, 2, 7])
        XCTAssertEqual(TimeWindows.present([Int?.none]), [])
    }

    func test_a_flag_is_on_in_more_than_half_of_the_valid_frames_or_in_any() {
        let values: [Bool?] = [true, nil, false, nil, true]  // 2 of 3 valid frames
        XCTAssertEqual(TimeWindows.flag(values, rule: .majority), true)
        XCTAssertEqual(TimeWindows.flag([true, false], rule: .majority), false)  // half is not a majority
        XCTAssertEqual(TimeWindows.flag([true, false], rule: .any), true)
        XCTAssertEqual(TimeWindows.flag([false, nil], rule: .any), false)
        XCTAssertNil(TimeWindows.flag([nil, nil], rule: .majority))
    }

    func test_mean_of_the_valid_frames_only() throws {
        XCTAssertEqual(try XCTUnwrap(TimeWindows.mean([0.5, nil, -0.1])), 0.2, accuracy: 1e-12)
        XCTAssertNil(TimeWindows.mean([Double?.none]))
    }

    func test_run_length_keeps_values_as_written() {
        XCTAssertEqual(TimeWindows.runLength(["4", "4", "-1", "0", "0", "0"]), "4*2 -1 0*3")
        XCTAssertEqual(TimeWindows.runLength([String]()), "")
    }
}
