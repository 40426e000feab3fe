import Critic
import XCTest

final class FleissKappaTests: XCTestCase {
    func test_perfect_agreement_is_one() {
        XCTAssertEqual(FleissKappa.kappa([[3, 0], [0, 3], [3, 0]]) ?? .nan, 1, accuracy: 1e-12)
    }

    func test_a_small_table_worked_out_by_hand() {
        // Four samples, three judges, pass/fail: [3,0] [2,1] [1,2] [0,3].
        // P_i = (9-3)/6 = 1, (4+1-3)/6 = 1/3, 1/3, 1 → P̄ = 2/3.
        // p_pass = (3+2+1+0)/12 = 1/2, p_fail = 1/2 → Pe = 1/2. κ = (2/3 - 1/2)/(1/2) = 1/3.
        XCTAssertEqual(FleissKappa.kappa([[3, 0], [2, 1], [1, 2], [0, 3]]) ?? .nan, 1.0 / 3, accuracy: 1e-12)
    }

    func test_agreement_below_chance_is_negative() {
        // [2,1] [1,2]: P_i = 1/3 each → P̄ = 1/3; p = 1/2, 1/2 → Pe = 1/2; κ = (1/3 - 1/2)/(1/2) = -1/3.
        XCTAssertEqual(FleissKappa.kappa([[2, 1], [1, 2]]) ?? .nan, -1.0 / 3, accuracy: 1e-12)
    }

    func test_fleiss_1971_style_example_with_five_categories() {
        // Ten subjects, 14 raters, 5 categories (the example on Wikipedia's Fleiss' kappa page): κ ≈ 0.210.
        let table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                     [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
        XCTAssertEqual(FleissKappa.kappa(table) ?? .nan, 0.210, accuracy: 0.001)
    }

    func test_undefined_when_every_vote_is_the_same_category_or_rows_differ() {
        XCTAssertNil(FleissKappa.kappa([[3, 0], [3, 0]]), "chance agreement is 1: kappa is undefined")
        XCTAssertNil(FleissKappa.kappa([[3, 0], [1, 1]]), "rows rated by different numbers of judges")
        XCTAssertNil(FleissKappa.kappa([]))
    }

    func test_committee_vote_rule() {
        let two = CommitteeVote(judges: 3, quorum: 2), three = CommitteeVote(judges: 3, quorum: 3)
        XCTAssertEqual(two.decide([true, true]), .accept)
        XCTAssertEqual(two.decide([true, false]), .pending)
        XCTAssertEqual(two.decide([false, false]), .fail)
        XCTAssertEqual(two.decide([false]), .pending)
        XCTAssertEqual(three.decide([true, true]), .pending)
        XCTAssertEqual(three.decide([false]), .fail)
        XCTAssertEqual(three.decide([true, true, true]), .accept)
    }
}
