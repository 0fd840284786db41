//! Golden cases of the gated-linear family (kinds `gla`, `simple_gla`, `retention`, `hgrn`,
//! `rwkv6`, `dplr`, `delta_rule`, `gated_delta_rule`, `rglru`): the member's layer is built
//! from the case's inputs and run twice — through the recurrence, and as `$A v$` from each
//! head's implicit attention matrix (T14) — and both outputs, and the recurrence's final
//! state, are compared with the expected tensors.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::family::golden::TensorReport;
use crate::family::linear::members::{Member, MemberLayer};
use crate::golden::Tolerance;
use crate::scalar::{Field, Real};
use crate::tensor::Tensor;

fn compare<T: Real>(what: &str, got: &[T], expected: &Tensor<f64>, tol: Tolerance) -> TensorReport {
    let (mut max_abs, mut max_rel, mut pass) = (0.0f64, 0.0f64, got.len() == expected.data().len());
    for (g, &e) in got.iter().zip(expected.data()) {
        let d: f64 = (Field::to_f64(g) - e).abs();
        let d = if d.is_nan() { f64::INFINITY } else { d };
        max_abs = max_abs.max(d);
        if e.abs() >= tol.atol {
            max_rel = max_rel.max(d / e.abs());
        }
        if d > tol.atol + tol.rtol * e.abs() {
            pass = false;
        }
    }
    TensorReport {
        what: what.to_string(),
        max_abs,
        max_rel,
        pass,
        compared: got.len(),
    }
}

/// Run the case of `member` given its `inputs`, `expected` tensors and `scale` (from
/// `params.scale`; `None`: `$d_k^{-1/2}$`): `o` through the recurrence and through `$A v$`,
/// and `final_state` where the case has one.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] naming a missing input or a shape that disagrees.
pub fn run_member<T: Real>(
    member: Member,
    inputs: &BTreeMap<String, Tensor<f64>>,
    expected: &BTreeMap<String, Tensor<f64>>,
    scale: Option<f64>,
    tol: Tolerance,
) -> Result<Vec<TensorReport>> {
    let layer = MemberLayer::<T>::from_inputs(member, inputs, scale)?;
    let (o, fin) = layer.outputs(member, false)?;
    let (o_attn, _) = layer.outputs(member, true)?;
    let want_o = expected
        .get("o")
        .ok_or_else(|| crate::Error::InvalidArgument {
            name: "expected.o".into(),
            reason: "missing".into(),
        })?;
    let mut out = vec![
        compare("o (recurrence)", &o, want_o, tol),
        compare("o (A v, implicit attention)", &o_attn, want_o, tol),
    ];
    if let Some(f) = expected.get("final_state") {
        out.push(compare("final_state", &fin, f, tol));
    }
    Ok(out)
}
