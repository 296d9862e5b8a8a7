//! A unified diff of two versions of a file, for `setup --dry-run`: what would change, line
//! by line, with three lines of context (the same shape as `diff -u`).

/// The lines of `text`, each with its line ending.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep,
    Remove,
    Add,
}

/// The edit script from `a` to `b`: a longest common subsequence of lines (files edited by
/// `setup` are small; past a size where the table would be large, the changed middle is
/// shown whole).
fn script(a: &[&str], b: &[&str]) -> Vec<(Op, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<(Op, usize)> = (0..prefix).map(|i| (Op::Keep, i)).collect();
    if am.len().saturating_mul(bm.len()) <= 4_000_000 {
        // lcs[i][j]: the LCS length of am[i..] and bm[j..].
        let w = bm.len() + 1;
        let mut lcs = vec![0u32; (am.len() + 1) * w];
        for i in (0..am.len()).rev() {
            for j in (0..bm.len()).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < am.len() || j < bm.len() {
            if i < am.len() && j < bm.len() && am[i] == bm[j] {
                ops.push((Op::Keep, prefix + i));
                i += 1;
                j += 1;
            } else if i < am.len() && (j == bm.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
            {
                // Removals first, as diff shows them.
                ops.push((Op::Remove, prefix + i));
                i += 1;
            } else {
                ops.push((Op::Add, prefix + j));
                j += 1;
            }
        }
    } else {
        ops.extend((0..am.len()).map(|i| (Op::Remove, prefix + i)));
        ops.extend((0..bm.len()).map(|j| (Op::Add, prefix + j)));
    }
    let a_end = a.len() - suffix;
    ops.extend((0..suffix).map(|k| (Op::Keep, a_end + k)));
    ops
}

/// `diff -u`-like text from `old` to `new` under the names `old_name`/`new_name`; empty when
/// they are equal. Every line ends with a newline; a last line without one is marked as
/// `diff` marks it.
pub fn unified(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (lines(old), lines(new));
    let ops = script(&a, &b);
    // Where each op stands in a and b.
    let mut pos = Vec::with_capacity(ops.len());
    let (mut ai, mut bi) = (0usize, 0usize);
    for (op, _) in &ops {
        pos.push((ai, bi));
        match op {
            Op::Keep => {
                ai += 1;
                bi += 1;
            }
            Op::Remove => ai += 1,
            Op::Add => bi += 1,
        }
    }
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != Op::Keep).collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let (a0, b0) = pos[start];
        let a_len = ops[start..end]
            .iter()
            .filter(|(o, _)| *o != Op::Add)
            .count();
        let b_len = ops[start..end]
            .iter()
            .filter(|(o, _)| *o != Op::Remove)
            .count();
        let first = |at: usize, len: usize| if len == 0 { at } else { at + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            first(a0, a_len),
            first(b0, b_len)
        ));
        for (op, index) in &ops[start..end] {
            let (mark, line) = match op {
                Op::Keep => (' ', a[*index]),
                Op::Remove => ('-', a[*index]),
                Op::Add => ('+', b[*index]),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn diffs_read_like_diff_u() {
        assert_eq!(unified("a", "b", "x\n", "x\n"), "");
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let new = "1\n2\n3\n4\n5\nfive and a half\n6\n7\n8\n9\n10\n";
        assert_eq!(
            unified("f", "f (new)", old, new),
            "--- f\n+++ f (new)\n@@ -3,6 +3,7 @@\n 3\n 4\n 5\n+five and a half\n 6\n 7\n 8\n"
        );
        assert_eq!(
            unified("f", "g", "a\nb", "a\nc\n"),
            "--- f\n+++ g\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
        );
        assert_eq!(
            unified("f", "g", "", "new\n"),
            "--- f\n+++ g\n@@ -0,0 +1,1 @@\n+new\n"
        );
        // Two changes far apart: two hunks.
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let new: String = (1..=20)
            .map(|n| match n {
                2 => "two\n".to_owned(),
                19 => "nineteen\n".to_owned(),
                n => format!("{n}\n"),
            })
            .collect();
        let diff = unified("f", "g", &old, &new);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains("-19\n+nineteen\n"), "{diff}");
    }
}
