import Foundation

/// Orders names the way people read them: `img2` before `img10`, `1.jpg` before `16.jpg`.
public enum NaturalOrder {
    /// `true` when `a` sorts before `b`, comparing runs of digits by their value.
    public static func less(_ a: String, _ b: String) -> Bool {
        var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
        var ca = i.next(), cb = j.next()
        while let x = ca, let y = cb {
            let xd = x.properties.numericType != nil && ("0"..."9").contains(x)
            let yd = y.properties.numericType != nil && ("0"..."9").contains(y)
            if xd && yd {
                var na = "", nb = ""
                while let c = ca, ("0"..."9").contains(c) { na.unicodeScalars.append(c); ca = i.next() }
                while let c = cb, ("0"..."9").contains(c) { nb.unicodeScalars.append(c); cb = j.next() }
                let ta = na.drop { $0 == "0" }, tb = nb.drop { $0 == "0" }
                if ta.count != tb.count { return ta.count < tb.count }
                if ta != tb { return ta < tb }
                if na.count != nb.count { return na.count < nb.count }
                continue
            }
            if x != y { return x.value < y.value }
            ca = i.next()
            cb = j.next()
        }
        return ca == nil && cb != nil
    }

    public static func sorted(_ names: [String]) -> [String] { names.sorted(by: less) }
}
