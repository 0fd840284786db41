//! A layer of one member given as JSON, in the golden family cases' form: `inputs` (named
//! tensors `{"shape": [..], "data": [..]}`, row-major, in the reference's own layout) and
//! `params` (only `scale`, the query scale; default `$d_k^{-1/2}$`). Any golden case file
//! is a layer document; a bare `{"inputs": …, "params": …}` is one too (`params` may be
//! left out). A `kind`, if present, must name the member.
//!
//! **Numbers.** A layer whose values are all JSON numbers is read as `f64`
//! ([`LayerHeads::F64`], built by [`MemberLayer::from_inputs`]: log-gates exponentiated,
//! RG-LRU's gates computed, the reference's conventions). A layer with at least one
//! string value is *exact* ([`LayerHeads::Exact`]): every value is then a rational string
//! `"p/q"` or `"p"`, or a JSON integer, and the heads are built over the rationals by
//! [`MemberLayer::from_gates`]. Nothing irrational may enter an exact layer: log-gates
//! (`gk`, `g`, `w`) pass through `$\exp$`, so an exact layer gives the gate values
//! `$e^{g}$` themselves as the input `gates` (same shape) and a log-gate input is refused
//! by name; RG-LRU (sigmoid, softplus, `$\exp$`, square roots) has no exact form; the
//! default scale `$d_k^{-1/2}$` is accepted only for a perfect square `$d_k$`. A float
//! layer may give `gates` too (then used as is).
//!
//! Every error names the field as a JSON path (`inputs.q.data[3]`, `params.scale`, `kind`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::family::linear::members::{Member, MemberLayer, GATES};
use crate::scalar::{parse_exact, Exact};
use crate::tensor::Tensor;

/// The heads of a layer document, in the number field it was written in.
#[derive(Debug, Clone)]
pub enum LayerHeads {
    /// Every value a JSON number: built in `f64`.
    F64(MemberLayer<f64>),
    /// At least one rational string: built exactly.
    Exact(MemberLayer<Exact>),
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Interchange {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The builders name an input (`q`), `scale` or `kind`: as JSON paths.
fn path_of(e: Error) -> Error {
    match e {
        Error::InvalidArgument { name, reason } => {
            let field = match name.as_str() {
                "scale" => "params.scale".to_string(),
                "kind" | "transition" => name,
                _ => format!("inputs.{name}"),
            };
            err(field, reason)
        }
        other => other,
    }
}

/// Whether any value of the document is a string (the exact path).
fn has_string(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(a) => a.iter().any(has_string),
        Value::Object(o) => o.values().any(has_string),
        _ => false,
    }
}

fn number_f64(v: &Value, path: &str) -> Result<f64> {
    v.as_f64()
        .ok_or_else(|| err(path, "expected a JSON number"))
}

fn number_exact(v: &Value, path: &str) -> Result<Exact> {
    match v {
        Value::String(s) => parse_exact(s).ok_or_else(|| {
            err(
                path,
                format!("{s:?} is not a rational \"p/q\" or integer (denominator nonzero)"),
            )
        }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ok(Exact::from_integer(i.into())),
            (_, Some(u)) => Ok(Exact::from_integer(u.into())),
            _ => Err(err(
                path,
                format!("{n} is a float in an exact layer: write rationals as strings \"p/q\""),
            )),
        },
        _ => Err(err(
            path,
            "expected a rational: a string \"p/q\" or an integer",
        )),
    }
}

fn tensors<T: Clone>(
    inputs: &Map<String, Value>,
    read: &dyn Fn(&Value, &str) -> Result<T>,
) -> Result<BTreeMap<String, Tensor<T>>> {
    let mut out = BTreeMap::new();
    for (name, t) in inputs {
        let at = format!("inputs.{name}");
        let t = t.as_object().ok_or_else(|| {
            err(
                &at,
                "a tensor is an object {\"shape\": [..], \"data\": [..]}",
            )
        })?;
        let shape: Vec<usize> = t
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("{at}.shape"), "missing or not an array"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()
            .ok_or_else(|| err(format!("{at}.shape"), "must hold non-negative integers"))?;
        let data = t
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| err(format!("{at}.data"), "missing or not a flat array"))?
            .iter()
            .enumerate()
            .map(|(i, x)| read(x, &format!("{at}.data[{i}]")))
            .collect::<Result<Vec<T>>>()?;
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(err(
                format!("{at}.data"),
                format!("holds {} values, shape {shape:?} needs {n}", data.len()),
            ));
        }
        out.insert(name.clone(), Tensor::new(name, shape, data)?);
    }
    Ok(out)
}

/// Parse a layer document of `member` (module docs) and build its heads.
///
/// # Errors
/// [`Error::Interchange`] naming the field: invalid JSON (`$`), a `kind` that is not
/// `member`, a missing or malformed input, a shape that disagrees, a non-rational string,
/// a float in an exact layer, a log-gate or RG-LRU in an exact layer, an unknown
/// parameter.
///
/// # Examples
/// ```
/// use hidden_attention::family::linear::{layer::{parse_layer, LayerHeads}, Member};
/// let doc = r#"{"inputs": {"x": {"shape": [1, 2, 1], "data": ["1", "2"]},
///                          "gates": {"shape": [1, 2, 1], "data": ["1/2", "1/3"]}}}"#;
/// let LayerHeads::Exact(layer) = parse_layer(doc, Member::Hgrn).unwrap() else { panic!() };
/// let a = layer.heads[0].attention_matrix().unwrap();
/// assert_eq!(a.get(1, 0).to_string(), "1/3");
/// let bad = parse_layer(r#"{"kind": "gla", "inputs": {}}"#, Member::Hgrn).unwrap_err();
/// assert!(bad.to_string().contains("`kind`"));
/// ```
pub fn parse_layer(text: &str, member: Member) -> Result<LayerHeads> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| err("$", format!("invalid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| err("$", "a layer is a JSON object"))?;
    if let Some(k) = obj.get("kind") {
        let k = k.as_str().ok_or_else(|| err("kind", "must be a string"))?;
        if Member::parse(k) != Some(member) {
            return Err(err(
                "kind",
                format!("{k:?} disagrees with --from {}", member.name()),
            ));
        }
    }
    let inputs = obj
        .get("inputs")
        .ok_or_else(|| err("inputs", "missing field"))?
        .as_object()
        .ok_or_else(|| err("inputs", "must be an object of named tensors"))?;
    let empty = Map::new();
    let params = match obj.get("params") {
        None => &empty,
        Some(p) => p
            .as_object()
            .ok_or_else(|| err("params", "must be an object"))?,
    };
    if let Some(k) = params.keys().find(|k| k.as_str() != "scale") {
        return Err(err(
            format!("params.{k}"),
            "unknown parameter (expected scale)",
        ));
    }
    let scale = params.get("scale");
    let exact = inputs.values().any(has_string) || scale.is_some_and(has_string);
    if exact {
        if member == Member::Rglru {
            return Err(err(
                "kind",
                "RG-LRU's gates are sigmoids, softplus, exponentials and square roots of x: \
                 it has no exact path, give the layer as JSON numbers",
            ));
        }
        if let Some(g) = member.log_gate_input().filter(|g| inputs.contains_key(*g)) {
            return Err(err(
                format!("inputs.{g}"),
                format!(
                    "log-gates pass through exp, which is irrational at a nonzero rational: \
                     an exact layer gives the gate values exp({g}) themselves as inputs.{GATES}"
                ),
            ));
        }
        let t = tensors(inputs, &number_exact)?;
        let s = scale.map(|s| number_exact(s, "params.scale")).transpose()?;
        MemberLayer::from_gates(member, &t, s)
            .map(LayerHeads::Exact)
            .map_err(path_of)
    } else {
        let t = tensors(inputs, &number_f64)?;
        let s = scale.map(|s| number_f64(s, "params.scale")).transpose()?;
        MemberLayer::from_inputs(member, &t, s)
            .map(LayerHeads::F64)
            .map_err(path_of)
    }
}
