//! JSON of cases and certificates: exact numbers as `"p/q"` strings, float views, interval
//! enclosures as `{"lo", "hi"}`, and parsers that name the field at fault.

use serde_json::{json, Value};

use crate::interchange::{self, Document, NumberField, Object};
use crate::interval::Interval;
use crate::report::exact_json;
use crate::scalar::{lift, parse_exact, Exact, Field};
use crate::tensor::Matrix;

/// An object in the interchange format, exact (`"p/q"` strings).
pub fn exact_doc(object: Object) -> Value {
    interchange::to_value(&Document {
        field: NumberField::Rational,
        object,
    })
}

/// An object in the interchange format as floats (exact strings where a value is not an
/// `f64`).
pub fn float_doc(object: Object) -> Value {
    interchange::to_value(&Document {
        field: NumberField::F64,
        object,
    })
}

/// Parse an interchange object, prefixing errors with `field`.
///
/// # Errors
/// A message naming the field.
pub fn parse_doc(v: &Value, field: &str) -> Result<Object, String> {
    interchange::from_value(v)
        .map(|d| d.object)
        .map_err(|e| shape_error(v, field).unwrap_or(format!("{field}.{e}")))
}

/// A declared size (`len`, `rows`, `state`, `dim`) that disagrees with the arrays of the
/// document, when all its two-dimensional arrays agree with each other: the size field
/// is the one at fault.
fn shape_error(v: &Value, field: &str) -> Option<String> {
    let obj = v.as_object()?;
    let tables: Vec<&Vec<Value>> = obj
        .values()
        .filter_map(Value::as_array)
        .filter(|a| !a.is_empty() && a.iter().all(Value::is_array))
        .collect();
    let same = |f: &dyn Fn(&Vec<Value>) -> usize| {
        let first = f(tables.first()?);
        tables.iter().all(|t| f(t) == first).then_some(first)
    };
    let rows = same(&|t| t.len());
    let cols = same(&|t| t[0].as_array().map_or(0, Vec::len));
    let check = |key: &str, actual: Option<usize>, what: &str| {
        let declared = obj.get(key)?.as_u64()? as usize;
        let actual = actual?;
        (declared != actual)
            .then(|| format!("{field}.{key}: says {declared}, but the arrays have {actual} {what}"))
    };
    check("len", rows, "rows")
        .or_else(|| check("rows", rows, "rows"))
        .or_else(|| check("state", cols, "columns"))
        .or_else(|| check("dim", cols, "columns"))
}

/// A rectangular matrix as rows of exact `"p/q"` strings.
pub fn exact_matrix_json(m: &Matrix<Exact>) -> Value {
    Value::Array(
        (0..m.rows())
            .map(|i| Value::Array(m.row(i).iter().map(exact_json).collect()))
            .collect(),
    )
}

/// A rectangular matrix of floats as rows of JSON numbers.
pub fn float_matrix_json(m: &Matrix<f64>) -> Value {
    Value::Array((0..m.rows()).map(|i| json!(m.row(i))).collect())
}

/// Parse rows of `"p/q"` strings (or integers) into a matrix, naming the bad entry.
///
/// # Errors
/// A message naming `field[i][j]` or a ragged row.
pub fn parse_exact_matrix(v: &Value, field: &str) -> Result<Matrix<Exact>, String> {
    let rows = v
        .as_array()
        .ok_or(format!("{field}: not an array of rows"))?;
    let mut data = Vec::new();
    let mut cols = None;
    for (i, r) in rows.iter().enumerate() {
        let r = r.as_array().ok_or(format!("{field}[{i}]: not an array"))?;
        if *cols.get_or_insert(r.len()) != r.len() {
            return Err(format!("{field}[{i}]: ragged row"));
        }
        for (j, x) in r.iter().enumerate() {
            let e = match x {
                Value::String(s) => parse_exact(s),
                Value::Number(n) => n.as_i64().map(|k| crate::scalar::ratio(k, 1)),
                _ => None,
            };
            data.push(e.ok_or(format!(
                "{field}[{i}][{j}]: not a rational \"p/q\" with q ≠ 0"
            ))?);
        }
    }
    Matrix::from_row_major(rows.len(), cols.unwrap_or(0), data).map_err(|e| format!("{field}: {e}"))
}

/// The `f64` whose exact value is `x`, or a message naming `field`.
///
/// # Errors
/// `x` is not an `f64` value.
pub fn exact_f64(x: &Exact, field: &str) -> Result<f64, String> {
    let d = x.to_f64();
    if lift(d).as_ref() == Some(x) {
        Ok(d)
    } else {
        Err(format!("{field}: {x} is not an f64 value"))
    }
}

/// A non-negative integer field of a certificate.
///
/// # Errors
/// A message naming `certificate.<key>`.
pub fn cert_index(cert: &Value, key: &str) -> Result<usize, String> {
    cert.get(key)
        .and_then(Value::as_u64)
        .map(|v| v as usize)
        .ok_or(format!("certificate.{key}: missing or not an index"))
}

/// An exact rational field (`"p/q"`) of a certificate.
///
/// # Errors
/// A message naming `certificate.<key>`.
pub fn cert_exact(cert: &Value, key: &str) -> Result<Exact, String> {
    cert.get(key)
        .and_then(Value::as_str)
        .and_then(parse_exact)
        .ok_or(format!(
            "certificate.{key}: missing or not a rational \"p/q\""
        ))
}

/// An interval as `{"lo": "p/q", "hi": "p/q"}`.
pub fn interval_json(iv: &Interval) -> Value {
    json!({"lo": exact_json(iv.lo()), "hi": exact_json(iv.hi())})
}

/// Every named interval of a certificate equals its recomputed enclosure; the first that
/// differs is named, with the recomputed ends.
///
/// # Errors
/// `certificate.KEY: …` for a missing, malformed or differing interval.
pub fn expect_intervals(cert: &Value, expected: &[(&str, &Interval)]) -> Result<(), String> {
    for (key, iv) in expected {
        if cert_interval(cert, key)? != **iv {
            return Err(format!(
                "certificate.{key}: differs from the recomputed enclosure [{:.6e}, {:.6e}]",
                iv.lo().to_f64(),
                iv.hi().to_f64()
            ));
        }
    }
    Ok(())
}

/// An interval field `{"lo", "hi"}` of a certificate.
///
/// # Errors
/// A message naming `certificate.<key>`.
pub fn cert_interval(cert: &Value, key: &str) -> Result<Interval, String> {
    let end = |e: &str| {
        cert.get(key)
            .and_then(|v| v.get(e))
            .and_then(Value::as_str)
            .and_then(parse_exact)
            .ok_or(format!(
                "certificate.{key}.{e}: missing or not a rational \"p/q\""
            ))
    };
    let (lo, hi) = (end("lo")?, end("hi")?);
    if lo > hi {
        return Err(format!("certificate.{key}: lo > hi"));
    }
    Ok(Interval::new(lo, hi))
}

/// A certificate's `kind`, which must be one of `expected`.
///
/// # Errors
/// A message naming `certificate.kind`.
pub fn cert_kind<'a>(cert: &'a Value, expected: &[&str]) -> Result<&'a str, String> {
    match cert.get("kind").and_then(Value::as_str) {
        Some(k) if expected.contains(&k) => Ok(k),
        other => Err(format!(
            "certificate.kind: {other:?} is not {}",
            expected.join(" or ")
        )),
    }
}

/// `Ok` if a case of length `l` and state (or dimension) `n` fits the search parameters
/// (`l ≤ search.len`, `n ≤ search.state`).
///
/// # Errors
/// A message naming `counterexample.len` or `counterexample.state`.
pub fn fits(l: usize, n: usize, p: &super::Params) -> Result<(), String> {
    if l == 0 || l > p.len {
        return Err(format!(
            "counterexample.len: L = {l} is not in 1..={} (search.len)",
            p.len
        ));
    }
    if n == 0 || n > p.state {
        return Err(format!(
            "counterexample.state: N = {n} is not in 1..={} (search.state)",
            p.state
        ));
    }
    Ok(())
}

/// A rational for a message: `p/q` when that is short (≤ 20 characters), else its
/// approximate decimal value (`≈1.234568e-3`).
pub fn short_exact(x: &Exact) -> String {
    let s = x.to_string();
    if s.len() <= 20 {
        s
    } else {
        format!("≈{:.6e}", x.to_f64())
    }
}

/// A case type that is one object of the interchange format (a channel, a head, a
/// matrix, a time-varying channel, all exact), so that a [`super::Conjecture`] over it
/// writes and reads its cases with [`case_docs`] and [`parse_case_doc`] — no clone, no
/// match on [`Object`].
pub trait InterchangeCase: Sized {
    /// The object, as written in a report.
    fn to_object(&self) -> Object;
    /// The object back, or `None` if it is of another kind.
    fn from_object(object: Object) -> Option<Self>;
    /// The kind, as the interchange format names it (`s6_channel`, …).
    const KIND: &'static str;
}

macro_rules! interchange_case {
    ($ty:ty, $variant:ident, $kind:literal) => {
        impl InterchangeCase for $ty {
            fn to_object(&self) -> Object {
                Object::$variant(self.clone())
            }
            fn from_object(object: Object) -> Option<Self> {
                match object {
                    Object::$variant(x) => Some(x),
                    _ => None,
                }
            }
            const KIND: &'static str = $kind;
        }
    };
}

interchange_case!(crate::ssm::Channel<Exact>, Channel, "s6_channel");
interchange_case!(
    crate::attention::LinearHead<Exact>,
    LinearHead,
    "linear_head"
);
interchange_case!(
    crate::attention::GatedLinearHead<Exact>,
    GatedHead,
    "linear_head"
);
interchange_case!(
    crate::attention::SoftmaxHead<Exact>,
    SoftmaxHead,
    "softmax_head"
);
interchange_case!(Matrix<Exact>, Matrix, "matrix");
interchange_case!(
    crate::construct::TimeVaryingChannel<Exact>,
    TimeVarying,
    "sss_channel"
);

/// A case's exact document and its float view: what [`super::Conjecture::case_json`]
/// returns for a case that is one interchange object.
pub fn case_docs<T: InterchangeCase>(case: &T) -> (Value, Value) {
    let object = case.to_object();
    (exact_doc(object.clone()), float_doc(object))
}

/// A case back from its exact document, naming `field` (e.g. `counterexample`) on error:
/// what [`super::Conjecture::parse_case`] does for a case that is one interchange object.
///
/// # Errors
/// A message naming the field at fault, or saying the document is of another kind.
pub fn parse_case_doc<T: InterchangeCase>(v: &Value, field: &str) -> Result<T, String> {
    T::from_object(parse_doc(v, field)?).ok_or_else(|| {
        format!(
            "{field}.kind: `{}` is not a {}",
            v.get("kind").and_then(Value::as_str).unwrap_or("?"),
            T::KIND
        )
    })
}
