//! The user code in block letters, readable from across the room: a 5x5 pixel font drawn with
//! half blocks (each letter 5 columns by 3 rows), or at double size on large screens (each
//! pixel two full cells wide: 10 columns by 5 rows).

/// Rows of the rendered text at `scale` 1 or 2.
pub fn height(scale: u16) -> u16 {
    if scale >= 2 { 5 } else { 3 }
}

/// 5x5 glyphs ('#' = ink) for the characters device-flow user codes use.
fn glyph(c: char) -> Option<[&'static str; 5]> {
    Some(match c {
        'A' => [".###.", "#...#", "#####", "#...#", "#...#"],
        'B' => ["####.", "#...#", "####.", "#...#", "####."],
        'C' => [".####", "#....", "#....", "#....", ".####"],
        'D' => ["####.", "#...#", "#...#", "#...#", "####."],
        'E' => ["#####", "#....", "####.", "#....", "#####"],
        'F' => ["#####", "#....", "####.", "#....", "#...."],
        'G' => [".####", "#....", "#..##", "#...#", ".###."],
        'H' => ["#...#", "#...#", "#####", "#...#", "#...#"],
        'I' => ["#####", "..#..", "..#..", "..#..", "#####"],
        'J' => ["..###", "...#.", "...#.", "#..#.", ".##.."],
        'K' => ["#...#", "#..#.", "###..", "#..#.", "#...#"],
        'L' => ["#....", "#....", "#....", "#....", "#####"],
        'M' => ["#...#", "##.##", "#.#.#", "#...#", "#...#"],
        'N' => ["#...#", "##..#", "#.#.#", "#..##", "#...#"],
        'O' => [".###.", "#...#", "#...#", "#...#", ".###."],
        'P' => ["####.", "#...#", "####.", "#....", "#...."],
        'Q' => [".###.", "#...#", "#.#.#", "#..#.", ".##.#"],
        'R' => ["####.", "#...#", "####.", "#..#.", "#...#"],
        'S' => [".####", "#....", ".###.", "....#", "####."],
        'T' => ["#####", "..#..", "..#..", "..#..", "..#.."],
        'U' => ["#...#", "#...#", "#...#", "#...#", ".###."],
        'V' => ["#...#", "#...#", "#...#", ".#.#.", "..#.."],
        'W' => ["#...#", "#...#", "#.#.#", "##.##", "#...#"],
        'X' => ["#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
        'Y' => ["#...#", ".#.#.", "..#..", "..#..", "..#.."],
        'Z' => ["#####", "...#.", "..#..", ".#...", "#####"],
        '0' => [".###.", "#..##", "#.#.#", "##..#", ".###."],
        '1' => ["..#..", ".##..", "..#..", "..#..", ".###."],
        '2' => [".###.", "#...#", "..##.", ".#...", "#####"],
        '3' => ["####.", "....#", "..##.", "....#", "####."],
        '4' => ["#...#", "#...#", "#####", "....#", "....#"],
        '5' => ["#####", "#....", "####.", "....#", "####."],
        '6' => [".###.", "#....", "####.", "#...#", ".###."],
        '7' => ["#####", "....#", "...#.", "..#..", "..#.."],
        '8' => [".###.", "#...#", ".###.", "#...#", ".###."],
        '9' => [".###.", "#...#", ".####", "....#", ".###."],
        // The hyphen is kept (people type it) but narrow.
        '-' => ["...", "...", "###", "...", "..."],
        ' ' => ["..", "..", "..", "..", ".."],
        _ => return None,
    })
}

/// The rows of `text` in block letters at `scale` 1 or 2, or `None` if a character has no
/// glyph.
pub fn render(text: &str, scale: u16) -> Option<Vec<String>> {
    let glyphs: Vec<[&str; 5]> = text
        .chars()
        .map(|c| glyph(c.to_ascii_uppercase()))
        .collect::<Option<_>>()?;
    if scale >= 2 {
        let rows = (0..5)
            .map(|r| {
                glyphs
                    .iter()
                    .map(|g| {
                        g[r].chars()
                            .map(|p| if p == '#' { "██" } else { "  " })
                            .collect::<String>()
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            })
            .collect();
        return Some(rows);
    }
    let mut rows = vec![String::new(); 3];
    for (i, g) in glyphs.iter().enumerate() {
        for (r, row) in rows.iter_mut().enumerate() {
            if i > 0 {
                row.push(' ');
            }
            let top = g[2 * r].chars();
            let bottom: Vec<char> = g.get(2 * r + 1).map_or(vec![], |b| b.chars().collect());
            for (x, t) in top.enumerate() {
                let b = bottom.get(x).copied().unwrap_or('.');
                row.push(match (t == '#', b == '#') {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
        }
    }
    Some(rows)
}

/// Columns [`render`] would take.
pub fn width(text: &str, scale: u16) -> Option<u16> {
    render(text, scale).map(|rows| u16::try_from(rows[0].chars().count()).unwrap_or(u16::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_codes_with_hyphen() {
        let rows = render("wdjb-mjht", 1).unwrap_or_default();
        assert_eq!(width("WDJB-MJHT", 1), Some(8 * 5 + 3 + 8));
        assert_eq!(width("WDJB-MJHT", 2), Some(2 * (8 * 5 + 3 + 8)));
        assert_eq!(render("AB", 2).map(|r| r.len()), Some(5));
        assert_eq!(rows.iter().map(|r| r.chars().count()).max(), Some(51));
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.chars().count() == 51));
        assert!(render("ABC_123", 1).is_none(), "no glyph for _");
    }

    #[test]
    fn every_glyph_is_five_rows_of_equal_width() {
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789- ".chars() {
            let g = glyph(c).unwrap_or_else(|| panic!("{c}"));
            assert!(g.iter().all(|row| row.len() == g[0].len()), "{c}");
        }
    }
}
