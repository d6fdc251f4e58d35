//! A unified diff of two texts, for `picket fix --dry-run`.
//!
//! Lines are matched by a longest common subsequence over the part between the common head and
//! tail; past [`MAX_CELLS`] the whole middle is shown as replaced (still a correct diff, only a
//! less tidy one).

use std::fmt::Write as _;

/// The largest LCS table computed (lines of the old middle × lines of the new middle).
const MAX_CELLS: usize = 4_000_000;

/// Lines of context around each change.
const CONTEXT: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// `--- a/LABEL` / `+++ b/LABEL` and the hunks that turn `old` into `new`; empty when equal.
pub fn unified(label: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let before: Vec<&str> = old.split_inclusive('\n').collect();
    let after: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&before, &after);
    // Each op with its line in `a` and in `b`.
    let mut placed = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0, 0);
    for op in ops {
        placed.push((op, i, j));
        match op {
            Op::Same => {
                i += 1;
                j += 1;
            }
            Op::Removed => i += 1,
            Op::Added => j += 1,
        }
    }
    let mut out = format!("--- a/{label}\n+++ b/{label}\n");
    let changed: Vec<usize> = (0..placed.len())
        .filter(|&k| placed[k].0 != Op::Same)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(placed.len());
        let hunk = &placed[start..end];
        let old_len = hunk.iter().filter(|h| h.0 != Op::Added).count();
        let new_len = hunk.iter().filter(|h| h.0 != Op::Removed).count();
        let first = |n: usize, len: usize| if len == 0 { n } else { n + 1 };
        let _ = writeln!(
            out,
            "@@ -{},{old_len} +{},{new_len} @@",
            first(hunk[0].1, old_len),
            first(hunk[0].2, new_len)
        );
        for &(op, i, j) in hunk {
            let (mark, line) = match op {
                Op::Same => (' ', before[i]),
                Op::Removed => ('-', before[i]),
                Op::Added => ('+', after[j]),
            };
            out.push(mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k += 1;
    }
    out
}

fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops = vec![Op::Same; head];
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        ops.extend(std::iter::repeat_n(Op::Removed, am.len()));
        ops.extend(std::iter::repeat_n(Op::Added, bm.len()));
    } else {
        // lcs[i][j]: the LCS length of am[i..] and bm[j..].
        let width = bm.len() + 1;
        let mut lcs = vec![0u32; (am.len() + 1) * width];
        for i in (0..am.len()).rev() {
            for j in (0..bm.len()).rev() {
                lcs[i * width + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < am.len() || j < bm.len() {
            if i < am.len() && j < bm.len() && am[i] == bm[j] {
                ops.push(Op::Same);
                i += 1;
                j += 1;
            } else if i < am.len()
                && (j == bm.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
            {
                // A removal before an addition, as diff(1) shows a replaced line.
                ops.push(Op::Removed);
                i += 1;
            } else {
                ops.push(Op::Added);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Same, tail));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n";
        let new = "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n";
        assert_eq!(
            unified("r.txt", old, new),
            "--- a/r.txt\n+++ b/r.txt\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n@@ -10,3 +10,4 @@\n 10\n 11\n 12\n+13\n"
        );
        assert_eq!(unified("r.txt", old, old), "");
    }

    #[test]
    fn a_missing_final_newline_is_marked() {
        assert_eq!(
            unified("x", "a\nb", "a\nc"),
            "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
    }
}
