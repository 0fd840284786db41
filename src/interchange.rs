//! The JSON interchange format for channels, heads and matrices (`hattn convert`).
//!
//! Every document is an object with a `kind` and a `field` (`"rational"` or `"f64"`):
//!
//! | kind | fields |
//! | --- | --- |
//! | `s6_channel` | `len` `$L$`, `state` `$N$`, `a_bar`, `b_bar`, `c`: `$L$` rows of `$N$` |
//! | `linear_head` | `len`, `dim` `$d$`, `q`, `k`: `$L$` rows of `$d$`; `gates`: `$L$` rows of `$d$`, or `null` for plain linear attention |
//! | `softmax_head` | `len`, `dim`, `q`, `k`, `scale` |
//! | `matrix` | `rows` `$L$`, `data`: `$L$` rows of `$L$` |
//! | `sss_channel` | `len`, `state`, `a`: `$L$` matrices `$N\times N$`, `b`, `c`: `$L$` rows of `$N$` (general time-varying transitions, T5) |
//!
//! Rationals are written as strings `"p/q"` or `"p"`, or as JSON integers; `f64` values as
//! JSON numbers. Values are held exactly ([`Exact`]; an `f64` is lifted exactly), so every
//! conversion is exact. When written, a document keeps the field `f64` only if every
//! value is exactly an `f64`; otherwise it is written as `rational`. Every error names the
//! field at fault as a JSON path (`a_bar[2][1]`, `kind`, ...). See `docs/interchange.md`.

use num_traits::Zero;
use serde_json::{json, Map, Value};

use crate::attention::{GatedLinearHead, LinearHead, SoftmaxHead};
use crate::construct::TimeVaryingChannel;
use crate::error::{Error, Result};
use crate::scalar::{lift, parse_exact, Exact, Field};
use crate::ssm::Channel;
use crate::tensor::Matrix;

/// The number field of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberField {
    /// Exact rationals, written `"p/q"`.
    Rational,
    /// IEEE doubles, written as JSON numbers.
    F64,
}

impl NumberField {
    /// The name in documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rational => "rational",
            Self::F64 => "f64",
        }
    }
}

/// The object a document holds (values exact).
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `s6_channel`.
    Channel(Channel<Exact>),
    /// `linear_head` with `gates: null`.
    LinearHead(LinearHead<Exact>),
    /// `linear_head` with gates.
    GatedHead(GatedLinearHead<Exact>),
    /// `softmax_head`.
    SoftmaxHead(SoftmaxHead<Exact>),
    /// `matrix`.
    Matrix(Matrix<Exact>),
    /// `sss_channel`.
    TimeVarying(TimeVaryingChannel<Exact>),
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The number field it was written in (and is written back in when exact).
    pub field: NumberField,
    /// The object.
    pub object: Object,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Interchange {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Parse a document from JSON text.
///
/// # Errors
/// [`Error::Interchange`] naming the field: invalid JSON (`$`), a missing field, a wrong
/// `kind` or `field`, ragged rows, a zero denominator, a malformed number, a size that
/// disagrees with `len`/`state`/`dim`/`rows`.
///
/// # Examples
/// ```
/// use hidden_attention::interchange::{parse, Object};
/// let doc = parse(r#"{"kind":"matrix","field":"rational","rows":2,"data":[["1","0"],["-1/2",3]]}"#).unwrap();
/// let Object::Matrix(m) = doc.object else { panic!() };
/// assert_eq!(m.get(1, 0).to_string(), "-1/2");
/// let bad = parse(r#"{"kind":"matrix","field":"rational","rows":2,"data":[["1","0"],["1/0",3]]}"#);
/// assert!(bad.unwrap_err().to_string().contains("data[1][0]"));
/// ```
pub fn parse(text: &str) -> Result<Document> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| err("$", format!("invalid JSON: {e}")))?;
    from_value(&v)
}

/// Parse a document from a JSON value. Errors as [`parse`].
pub fn from_value(v: &Value) -> Result<Document> {
    let obj = v
        .as_object()
        .ok_or_else(|| err("$", "a document is a JSON object"))?;
    let kind = get(obj, "kind")?
        .as_str()
        .ok_or_else(|| err("kind", "must be a string"))?;
    let field = match get(obj, "field")?.as_str() {
        Some("rational") => NumberField::Rational,
        Some("f64") => NumberField::F64,
        _ => return Err(err("field", "must be \"rational\" or \"f64\"")),
    };
    let r = Reader { field };
    let object = match kind {
        "s6_channel" => {
            let l = r.size(obj, "len")?;
            let n = r.size(obj, "state")?;
            let a = r.rows(obj, "a_bar", l, n)?;
            let b = r.rows(obj, "b_bar", l, n)?;
            let c = r.rows(obj, "c", l, n)?;
            Object::Channel(Channel::new(l, n, a, b, c).map_err(|e| err("state", e.to_string()))?)
        }
        "linear_head" => {
            let l = r.size(obj, "len")?;
            let d = r.size(obj, "dim")?;
            let q = Matrix::from_row_major(l, d, r.rows(obj, "q", l, d)?)?;
            let k = Matrix::from_row_major(l, d, r.rows(obj, "k", l, d)?)?;
            match get(obj, "gates")? {
                Value::Null => Object::LinearHead(LinearHead::new(q, k)?),
                _ => {
                    let g = Matrix::from_row_major(l, d, r.rows(obj, "gates", l, d)?)?;
                    Object::GatedHead(GatedLinearHead::new(q, k, g)?)
                }
            }
        }
        "softmax_head" => {
            let l = r.size(obj, "len")?;
            let d = r.size(obj, "dim")?;
            let q = Matrix::from_row_major(l, d, r.rows(obj, "q", l, d)?)?;
            let k = Matrix::from_row_major(l, d, r.rows(obj, "k", l, d)?)?;
            let s = r.number(get(obj, "scale")?, "scale")?;
            Object::SoftmaxHead(SoftmaxHead::new(q, k, s)?)
        }
        "matrix" => {
            let l = r.size(obj, "rows")?;
            Object::Matrix(Matrix::from_row_major(l, l, r.rows(obj, "data", l, l)?)?)
        }
        "sss_channel" => {
            let l = r.size(obj, "len")?;
            let n = r.size(obj, "state")?;
            let a_rows = get(obj, "a")?.as_array().ok_or_else(|| err("a", "must be an array of L matrices"))?;
            if a_rows.len() != l {
                return Err(err("a", format!("has {} matrices, expected len = {l}", a_rows.len())));
            }
            let a = a_rows
                .iter()
                .enumerate()
                .map(|(t, m)| Matrix::from_row_major(n, n, r.rows_of(m, &format!("a[{t}]"), n, n)?))
                .collect::<Result<Vec<_>>>()?;
            let b = Matrix::from_row_major(l, n, r.rows(obj, "b", l, n)?)?;
            let c = Matrix::from_row_major(l, n, r.rows(obj, "c", l, n)?)?;
            Object::TimeVarying(TimeVaryingChannel { a, b, c })
        }
        other => {
            return Err(err(
                "kind",
                format!("unknown kind {other:?} (expected s6_channel, linear_head, softmax_head, matrix or sss_channel)"),
            ))
        }
    };
    Ok(Document { field, object })
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a Value> {
    obj.get(key).ok_or_else(|| err(key, "missing field"))
}

struct Reader {
    field: NumberField,
}

impl Reader {
    fn size(&self, obj: &Map<String, Value>, key: &str) -> Result<usize> {
        get(obj, key)?
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| err(key, "must be a non-negative integer"))
    }

    fn number(&self, v: &Value, path: &str) -> Result<Exact> {
        match (self.field, v) {
            (NumberField::Rational, Value::String(s)) => {
                if let Some((_, q)) = s.split_once('/') {
                    if q.trim()
                        .parse::<num_bigint::BigInt>()
                        .is_ok_and(|q| q.is_zero())
                    {
                        return Err(err(path, format!("zero denominator in {s:?}")));
                    }
                }
                parse_exact(s)
                    .ok_or_else(|| err(path, format!("{s:?} is not a rational \"p/q\" or integer")))
            }
            (NumberField::Rational, Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Ok(Exact::from_integer(i.into())),
                (_, Some(u)) => Ok(Exact::from_integer(u.into())),
                _ => Err(err(
                    path,
                    format!("{n} is not an integer: write rationals as strings \"p/q\""),
                )),
            },
            (NumberField::F64, Value::Number(n)) => n
                .as_f64()
                .and_then(lift)
                .ok_or_else(|| err(path, format!("{n} is not a finite f64"))),
            (NumberField::Rational, _) => Err(err(
                path,
                "expected a rational: a string \"p/q\" or an integer",
            )),
            (NumberField::F64, _) => Err(err(path, "expected a JSON number (field f64)")),
        }
    }

    fn rows(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Vec<Exact>> {
        self.rows_of(get(obj, key)?, key, rows, cols)
    }

    fn rows_of(&self, v: &Value, path: &str, rows: usize, cols: usize) -> Result<Vec<Exact>> {
        let arr = v
            .as_array()
            .ok_or_else(|| err(path, "must be an array of rows"))?;
        if arr.len() != rows {
            return Err(err(
                path,
                format!("has {} rows, expected {rows}", arr.len()),
            ));
        }
        let mut out = Vec::with_capacity(rows * cols);
        for (i, row) in arr.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let row = row.as_array().ok_or_else(|| err(&p, "must be an array"))?;
            if row.len() != cols {
                return Err(err(
                    &p,
                    format!("ragged row: {} entries, expected {cols}", row.len()),
                ));
            }
            for (j, x) in row.iter().enumerate() {
                out.push(self.number(x, &format!("{p}[{j}]"))?);
            }
        }
        Ok(out)
    }
}

/// Whether every value is exactly an `f64`.
fn all_f64(values: &[&Exact]) -> bool {
    values.iter().copied().all(|v| {
        let f = Field::to_f64(v);
        f.is_finite() && lift(f).as_ref() == Some(v)
    })
}

fn values(o: &Object) -> Vec<&Exact> {
    match o {
        Object::Channel(c) => c
            .abar_all()
            .iter()
            .chain(c.bbar_all())
            .chain(c.c_all())
            .collect(),
        Object::LinearHead(h) => h.queries().data().iter().chain(h.keys().data()).collect(),
        Object::GatedHead(h) => h
            .queries()
            .data()
            .iter()
            .chain(h.keys().data())
            .chain(h.gates().data())
            .collect(),
        Object::SoftmaxHead(h) => h
            .queries()
            .data()
            .iter()
            .chain(h.keys().data())
            .chain([h.scale()])
            .collect(),
        Object::Matrix(m) => m.data().iter().collect(),
        Object::TimeVarying(t) => {
            t.a.iter()
                .flat_map(|m| m.data())
                .chain(t.b.data())
                .chain(t.c.data())
                .collect()
        }
    }
}

/// The document as a JSON value, in `field` if every value is exactly representable there
/// (always for `rational`), else in `rational`.
pub fn to_value(doc: &Document) -> Value {
    let field = match doc.field {
        NumberField::F64 if all_f64(&values(&doc.object)) => NumberField::F64,
        _ => NumberField::Rational,
    };
    let num = |v: &Exact| -> Value {
        match field {
            NumberField::F64 => json!(Field::to_f64(v)),
            NumberField::Rational => Value::String(v.to_string()),
        }
    };
    let rows = |data: &[Exact], cols: usize| -> Value {
        Value::Array(
            data.chunks(cols.max(1))
                .map(|r| Value::Array(r.iter().map(num).collect()))
                .collect(),
        )
    };
    let mat = |m: &Matrix<Exact>| -> Value {
        if m.cols() == 0 {
            Value::Array((0..m.rows()).map(|_| Value::Array(vec![])).collect())
        } else {
            rows(m.data(), m.cols())
        }
    };
    let f = field.name();
    match &doc.object {
        Object::Channel(c) => json!({
            "kind": "s6_channel", "field": f, "len": c.len(), "state": c.state(),
            "a_bar": rows(c.abar_all(), c.state()), "b_bar": rows(c.bbar_all(), c.state()), "c": rows(c.c_all(), c.state()),
        }),
        Object::LinearHead(h) => json!({
            "kind": "linear_head", "field": f, "len": h.len(), "dim": h.dim(),
            "q": mat(h.queries()), "k": mat(h.keys()), "gates": Value::Null,
        }),
        Object::GatedHead(h) => json!({
            "kind": "linear_head", "field": f, "len": h.len(), "dim": h.dim(),
            "q": mat(h.queries()), "k": mat(h.keys()), "gates": mat(h.gates()),
        }),
        Object::SoftmaxHead(h) => json!({
            "kind": "softmax_head", "field": f, "len": h.len(), "dim": h.dim(),
            "q": mat(h.queries()), "k": mat(h.keys()), "scale": num(h.scale()),
        }),
        Object::Matrix(m) => {
            json!({ "kind": "matrix", "field": f, "rows": m.rows(), "data": mat(m) })
        }
        Object::TimeVarying(t) => json!({
            "kind": "sss_channel", "field": f, "len": t.len(), "state": t.state(),
            "a": Value::Array(t.a.iter().map(mat).collect()), "b": mat(&t.b), "c": mat(&t.c),
        }),
    }
}

/// The document as pretty JSON text.
pub fn to_string_pretty(doc: &Document) -> String {
    serde_json::to_string_pretty(&to_value(doc)).expect("JSON values serialise")
}
