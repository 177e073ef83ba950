//! Held rows of a PostgreSQL transaction (`Tx::insert_deferred`): rows of one INSERT
//! statement are sent together as one multi-row INSERT, so a group commit costs a round
//! trip per table and chunk instead of one per row.

use crate::backend::Value;

/// Rows per multi-row INSERT, and a ceiling on its parameters (PostgreSQL allows 65,535).
const MAX_ROWS: usize = 256;
const MAX_PARAMS: usize = 16_384;

/// One statement's held rows: `prefix` is everything before ` VALUES `, `tuple` the
/// `(…)` of one row, `params` the rows' parameters back to back.
struct Group {
    prefix: String,
    tuple: String,
    per_row: usize,
    params: Vec<Value>,
}

#[derive(Default)]
pub(crate) struct Held {
    /// In the order each statement was first held.
    groups: Vec<Group>,
}

/// Splits a plain single-row `INSERT … VALUES (…)` into prefix and tuple; `None` for any
/// other shape (a clause after the values, placeholders outside the tuple, a count that
/// does not match), which is then sent on its own.
fn split(sql: &str, params: usize) -> Option<(&str, &str)> {
    if !sql.starts_with("INSERT INTO ") {
        return None;
    }
    let at = sql.rfind(" VALUES (")?;
    let (prefix, rest) = (&sql[..at], &sql[at + " VALUES ".len()..]);
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    if params == 0
        || prefix.contains('?')
        || inner.contains('(')
        || inner.contains(')')
        || inner.matches('?').count() != params
    {
        return None;
    }
    Some((prefix, rest))
}

impl Held {
    /// Holds the row; gives it back when the statement cannot be merged.
    pub(crate) fn hold<'a>(&mut self, sql: &str, params: &'a [Value]) -> Option<&'a [Value]> {
        let Some((prefix, tuple)) = split(sql, params.len()) else {
            return Some(params);
        };
        match self
            .groups
            .iter_mut()
            .find(|g| g.prefix == prefix && g.tuple == tuple)
        {
            Some(g) => g.params.extend_from_slice(params),
            None => self.groups.push(Group {
                prefix: prefix.to_string(),
                tuple: tuple.to_string(),
                per_row: params.len(),
                params: params.to_vec(),
            }),
        }
        None
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Takes every held row as statements to run in order: (SQL with `?`, parameters).
    pub(crate) fn take(&mut self) -> Vec<(String, Vec<Value>)> {
        let mut out = Vec::new();
        for g in std::mem::take(&mut self.groups) {
            let rows_per = MAX_ROWS.min(MAX_PARAMS / g.per_row).max(1);
            for chunk in g.params.chunks(rows_per * g.per_row) {
                let rows = chunk.len() / g.per_row;
                let mut sql =
                    String::with_capacity(g.prefix.len() + 8 + rows * (g.tuple.len() + 2));
                sql.push_str(&g.prefix);
                sql.push_str(" VALUES ");
                for i in 0..rows {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&g.tuple);
                }
                out.push((sql, chunk.to_vec()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_one_statement_merge_in_first_held_order() {
        let mut h = Held::default();
        let a = "INSERT INTO a (id, x) VALUES (?, ?)";
        let b = "INSERT INTO b (id, k) VALUES (?, 'lit')";
        assert!(h.hold(a, &[Value::Int(1), Value::Int(2)]).is_none());
        assert!(h.hold(b, &[Value::Int(9)]).is_none());
        assert!(h.hold(a, &[Value::Int(3), Value::Int(4)]).is_none());
        let out = h.take();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, "INSERT INTO a (id, x) VALUES (?, ?), (?, ?)");
        assert_eq!(
            out[0].1,
            vec![Value::Int(1), Value::Int(2), Value::Int(3), Value::Int(4)]
        );
        assert_eq!(out[1].0, "INSERT INTO b (id, k) VALUES (?, 'lit')");
        assert!(h.is_empty());
    }

    #[test]
    fn other_shapes_are_not_held() {
        let mut h = Held::default();
        let p = [Value::Int(1)];
        for sql in [
            "INSERT INTO a (id) VALUES (?) ON CONFLICT DO NOTHING",
            "UPDATE a SET x = ? WHERE id = 1",
            "INSERT INTO a (id) SELECT ?",
            "INSERT INTO a (id, x) VALUES (?, ?)",
            "INSERT INTO a (id, t) VALUES (?, now())",
        ] {
            assert!(h.hold(sql, &p).is_some(), "{sql}");
        }
        assert!(h.is_empty());
    }

    #[test]
    fn large_groups_are_chunked() {
        let mut h = Held::default();
        let sql = "INSERT INTO a (id) VALUES (?)";
        for i in 0..600 {
            assert!(h.hold(sql, &[Value::Int(i)]).is_none());
        }
        let out = h.take();
        let rows: Vec<usize> = out.iter().map(|(_, p)| p.len()).collect();
        assert_eq!(rows, vec![256, 256, 88]);
        assert_eq!(out[2].1[0], Value::Int(512));
    }
}
