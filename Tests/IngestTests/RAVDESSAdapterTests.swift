import EmoCFG
import Ingest
import XCTest

final class RAVDESSAdapterTests: XCTestCase {
    func test_ravdess_reads_all_seven_file_name_fields() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess")
        let c = try XCTUnwrap(r["01-01-03-02-01-01-01"])
        XCTAssertEqual(c.record.path, "Actor_01/01-01-03-02-01-01-01.mp4")
        XCTAssertEqual(c.record.nativeLabels, ["modality": "01", "vocal_channel": "01", "emotion": "03", "intensity": "02",
                                               "statement": "01", "repetition": "01", "actor": "01"])
        XCTAssertEqual(c.record.labels.emotion, "happiness")
        XCTAssertEqual(c.record.labels.intensity, "strong")
        XCTAssertEqual(c.record.labels.facts["modality"], "av")
        XCTAssertEqual(c.record.labels.facts["vocal_channel"], "speech")
        XCTAssertEqual(c.record.labels.facts["statement"], "01")
        XCTAssertEqual(c.record.labels.facts["repetition"], "01")
        XCTAssertEqual(c.record.labels.facts["gender"], "male", "odd actors are male")
        XCTAssertEqual(c.record.identity, "Actor_01")
        XCTAssertNil(c.record.split, "RAVDESS defines no split: the export groups by actor")
        XCTAssertEqual(c.probe?.hasAudio, true)
    }

    func test_ravdess_keeps_video_only_files_beside_audio_video_ones() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess")
        let v = try XCTUnwrap(r["02-01-03-02-01-01-01"])
        XCTAssertEqual(v.record.labels.facts["modality"], "video")
        XCTAssertEqual(v.probe?.hasAudio, false)
        XCTAssertEqual(r.clips.count, 9, "the .wav (03-, audio-only) and the OpenFace .csv are not clips")
        XCTAssertNil(r["03-01-05-01-01-01-02"])
    }

    func test_ravdess_song_files_are_labelled_and_even_actors_female() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess")
        let song = try XCTUnwrap(r["01-02-06-01-02-02-01"])
        XCTAssertEqual(song.record.labels.facts["vocal_channel"], "song")
        XCTAssertEqual(song.record.labels.emotion, "fear")
        XCTAssertEqual(r["01-01-08-02-02-01-02"]?.record.labels.emotion, "surprise")
        XCTAssertEqual(r["01-01-08-02-02-01-02"]?.record.labels.facts["gender"], "female")
        XCTAssertEqual(r["01-01-01-01-01-02-02"]?.record.labels.emotion, "neutral")
        XCTAssertEqual(r["02-01-02-01-02-02-18"]?.record.labels.emotion, "calm")
    }

    func test_ravdess_song_with_an_emotion_song_never_uses_is_reported() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess")
        let bad = try XCTUnwrap(r["01-02-07-01-01-01-02"])
        XCTAssertEqual(bad.record.labelProblems, ["emotion '07' (disgust) does not occur in song files"])
        XCTAssertEqual(r.problems(.badLabel).first?.location?.file, "Actor_02/01-02-07-01-01-01-02.mp4")
    }

    func test_ravdess_modalities_option_keeps_only_audio_video() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess", options: "modalities: [av]")
        XCTAssertEqual(r.clips.count, 6)
        XCTAssertTrue(r.clips.values.allSatisfy { $0.record.labels.facts["modality"] == "av" })
        XCTAssertThrowsError(try ingestReplica("RAVDESS", adapter: "ravdess", options: "modalities: [audio]"))
    }
}
