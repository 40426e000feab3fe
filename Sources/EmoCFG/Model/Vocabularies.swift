import Foundation

/// Dataset vocabularies that more than one module needs: the adapters read labels with them, the
/// instruct stage asks questions in them and the export writes answers in them (shared/datasets.md).
public enum DatasetVocabulary {
    /// CelebV-HQ's 40 appearance attributes, in the order of its `appearance_mapping`.
    public static let celebvhqAppearance = [
        "blurry", "male", "young", "chubby", "pale_skin", "rosy_cheeks", "oval_face", "receding_hairline", "bald",
        "bangs", "black_hair", "blonde_hair", "gray_hair", "brown_hair", "straight_hair", "wavy_hair", "long_hair",
        "arched_eyebrows", "bushy_eyebrows", "bags_under_eyes", "eyeglasses", "sunglasses", "narrow_eyes",
        "big_nose", "pointy_nose", "high_cheekbones", "big_lips", "double_chin", "no_beard", "5_o_clock_shadow",
        "goatee", "mustache", "sideburns", "heavy_makeup", "wearing_earrings", "wearing_hat", "wearing_lipstick",
        "wearing_necklace", "wearing_necktie", "wearing_mask",
    ]

    /// CelebV-HQ's 35 actions, in the order of its `action_mapping`.
    public static let celebvhqAction = [
        "blow", "chew", "close_eyes", "cough", "cry", "drink", "eat", "frown", "gaze", "glare", "head_wagging",
        "kiss", "laugh", "listen_to_music", "look_around", "make_a_face", "nod", "play_instrument", "read",
        "shake_head", "shout", "sigh", "sing", "sleep", "smile", "smoke", "sneer", "sneeze", "sniff", "talk",
        "turn", "weep", "whisper", "wink", "yawn",
    ]

    /// The 12 action units Aff-Wild2 annotates, in its AU files' column order.
    public static let affwild2ActionUnits = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]
}
