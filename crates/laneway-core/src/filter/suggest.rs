//! "Did you mean …?": the closest known name to a misspelt one.

/// Names longer than this get no suggestion: nobody misspells a 65-character field name, and it
/// keeps the quadratic distance cheap whatever the caller passes.
const MAX_SUGGEST_LEN: usize = 64;

/// The candidate closest to `name` by optimal-string-alignment distance (Levenshtein plus
/// transposition of adjacent characters, so `titel` is one edit from `title`), compared
/// case-insensitively; `None` when even the closest is further than `max(1, len / 3)` edits
/// (len in characters of `name`), i.e. too far to be a useful suggestion. Ties go to the
/// earliest candidate.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    if name.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let max = (name.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        let c: Vec<char> = cand.chars().flat_map(char::to_lowercase).collect();
        if c.len().abs_diff(name.len()) > max {
            continue;
        }
        let d = osa(&name, &c);
        if d <= max && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of adjacent characters, each costing one.
fn osa(a: &[char], b: &[char]) -> usize {
    // Three rows: i-2, i-1 and i.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        osa(&a, &b)
    }

    #[test]
    fn osa_distances() {
        assert_eq!(d("", ""), 0);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("title", "title"), 0);
        assert_eq!(d("titel", "title"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ca", "abc"), 3); // OSA, not full Damerau (which gives 2)
        assert_eq!(d("tilte", "title"), 1);
        assert_eq!(d("créé", "cree"), 2);
    }

    #[test]
    fn nearest_suggests_close_names() {
        let fields = [
            "title",
            "created_at",
            "updated_at",
            "stage.slug",
            "assignee.email",
        ];
        assert_eq!(nearest("titel", fields), Some("title"));
        assert_eq!(nearest("TITLE", fields), Some("title"));
        assert_eq!(nearest("Titl", fields), Some("title"));
        assert_eq!(nearest("createdat", fields), Some("created_at"));
        assert_eq!(nearest("stage.slog", fields), Some("stage.slug"));
        assert_eq!(nearest("asignee.email", fields), Some("assignee.email"));
    }

    #[test]
    fn nearest_refuses_far_names() {
        let fields = ["title", "created_at", "stage.slug"];
        assert_eq!(nearest("banana", fields), None);
        assert_eq!(nearest("xy", fields), None);
        assert_eq!(nearest("title", std::iter::empty()), None);
        assert_eq!(nearest(&"t".repeat(5000), fields), None);
    }

    #[test]
    fn nearest_prefers_the_closest_then_the_first() {
        assert_eq!(nearest("cat", ["bat", "cab", "cat"]), Some("cat"));
        assert_eq!(nearest("cat", ["bat", "cab"]), Some("bat"));
        assert_eq!(
            nearest("contain", ["eq", "contains", "like"]),
            Some("contains")
        );
    }
}
