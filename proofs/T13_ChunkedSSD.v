(* T13 - the chunked SSD algorithm equals the scan.
   Mamba-2 does not run the scan step by step: it cuts the sequence into
   chunks of Q steps (the last one shorter when Q does not divide L),
   chunk c = { r < L : c Q <= r < (c+1) Q }, chunk(t) = t / Q, and computes,
   in this order,
   1. intra-chunk (masked products inside the chunk of t):
        y^intra_t = sum_{s in chunk(t), s <= t} (C_t . B_s) (prod_{r=s+1}^{t} a_r) x_s
   2. chunk states (each chunk's own contribution at its last step end(c)):
        H_c = sum_{s in chunk c} (prod_{r=s+1}^{end(c)} a_r) B_s x_s^T
   3. inter-chunk recurrence (S_{-1} = 0):
        S_c = (prod_{r in chunk c} a_r) S_{c-1} + H_c
   4. output:
        y_t = y^intra_t + (prod_{r=start(chunk(t))}^{t} a_r) C_t . S_{chunk(t)-1}
              + D x_t.
   Over any commutative ring, for every chunk size Q >= 1 and every L
   (Q need not divide L), this equals the output of the scan exactly.
   On the way: S_{c-1} is the scan state after min(c Q, L) steps. *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel SSD T8_SSDUnrolling Ranges.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Chunked.

Variable R : comRingType.
Variables L N P Q : nat.
Variables (a : 'I_L -> R) (B C : 'I_L -> 'I_N -> R) (D : 'I_P -> R).
Variable x : 'I_L -> 'I_P -> R.

(* Chunk c covers the steps c Q <= r < (c+1) Q that are below L. *)
Definition chunk_start (c : nat) : nat := c * Q.
Definition chunk_stop (c : nat) : nat := c.+1 * Q.
Definition in_chunk (c : nat) (r : 'I_L) : bool :=
  (chunk_start c <= r < chunk_stop c)%N.
Definition chunk_of (t : 'I_L) : nat := t %/ Q.

(* 1. Intra-chunk: y^intra_t[p]. *)
Definition chunk_intra (t : 'I_L) (p : 'I_P) : R :=
  \sum_(s < L | in_chunk (chunk_of t) s && (s <= t)%N)
     (\sum_(n < N) C t n * B s n) * (\prod_(r < L | (s < r <= t)%N) a r)
     * x s p.

(* 2. Chunk states: H_c[n, p]; with r < L the product runs over
   s < r <= end(c) = min((c+1) Q, L) - 1. *)
Definition chunk_state (c : nat) (n : 'I_N) (p : 'I_P) : R :=
  \sum_(s < L | in_chunk c s)
     (\prod_(r < L | (s < r < chunk_stop c)%N) a r) * B s n * x s p.

(* 3. Inter-chunk recurrence: [chunk_carry c] is S_{c-1}, the state carried
   into chunk c (S_{-1} = 0, S_c = (prod_{r in chunk c} a_r) S_{c-1} + H_c). *)
Definition chunk_decay (c : nat) : R := \prod_(r < L | in_chunk c r) a r.

Fixpoint chunk_carry (c : nat) (n : 'I_N) (p : 'I_P) : R :=
  match c with
  | 0 => 0
  | c'.+1 => chunk_decay c' * chunk_carry c' n p + chunk_state c' n p
  end.

(* 4. Output: y_t[p]. *)
Definition chunked_output (t : 'I_L) (p : 'I_P) : R :=
  chunk_intra t p
  + (\prod_(r < L | (chunk_start (chunk_of t) <= r <= t)%N) a r)
    * (\sum_(n < N) C t n * chunk_carry (chunk_of t) n p)
  + D p * x t p.

(* The scan from step m to step m + k. *)
Lemma ssd_state_range m k n p : (m + k <= L)%N ->
  ssd_state a B x (m + k) n p =
  (\prod_(r < L | (m <= r < m + k)%N) a r) * ssd_state a B x m n p
  + \sum_(s < L | (m <= s < m + k)%N)
      (\prod_(r < L | (s < r < m + k)%N) a r) * B s n * x s p.
Proof.
elim: k => [|k IH] le_mkL.
  by rewrite addn0 !big_range_nil mul1r addr0.
have lt_mkL : (m + k < L)%N by rewrite -addnS.
rewrite addnS [ssd_state _ _ _ _.+1 _ _]/= !(at_stepS _ lt_mkL).
rewrite (IH (ltnW lt_mkL)).
rewrite (prod_range_last _ lt_mkL) ?leq_addr //.
rewrite (sum_range_last _ lt_mkL) ?leq_addr //.
rewrite big_range_nil mul1r mulrDr mulrA [B _ _ * _ + _]addrC addrA.
congr (_ + _); rewrite big_distrr /=; congr (_ + _).
apply: eq_bigr => s /andP [_ lt_s]; rewrite (prod_range_last _ lt_mkL lt_s).
by rewrite !mulrA.
Qed.

(* The state carried into chunk c is the scan state after min(c Q, L)
   steps (any Q, even 0). *)
Lemma t13_chunk_carry_is_scan_state c n p :
  chunk_carry c n p = ssd_state a B x (minn (chunk_start c) L) n p.
Proof.
elim: c => [|c IH] /=; first by rewrite /chunk_start mul0n min0n.
have le_mm' : (minn (chunk_start c) L <= minn (chunk_start c.+1) L)%N.
  by rewrite leq_min geq_minr andbT geq_min leq_mul2r leqnSn orbT.
have le_m'L : (minn (chunk_start c.+1) L <= L)%N by exact: geq_minr.
rewrite -{1}(subnKC le_mm') ssd_state_range ?subnKC // -IH.
congr (_ * _ + _).
  by apply: eq_bigl => r; rewrite range_minn.
apply: eq_big => [s|s _]; first by rewrite /in_chunk range_minn.
by congr (_ * _ * _); apply: eq_bigl => r; rewrite leq_min ltn_ord andbT.
Qed.

(* T13: for every chunk size Q >= 1 (dividing L or not), the chunked
   algorithm computes exactly the output of the scan. *)
Theorem t13_chunked_eq_scan (Q_gt0 : (0 < Q)%N) (t : 'I_L) (p : 'I_P) :
  chunked_output t p = ssd_output a B C D x t p.
Proof.
set c := chunk_of t.
have le_start : (chunk_start c <= t)%N by exact: leq_trunc_div.
have lt_stop : (t < chunk_stop c)%N by exact: ltn_ceil.
have le_start1 : (chunk_start c <= t.+1)%N by exact: leq_trans le_start (leqnSn t).
have E n : ssd_state a B x t.+1 n p =
  (\prod_(r < L | (chunk_start c <= r < t.+1)%N) a r)
    * ssd_state a B x (chunk_start c) n p
  + \sum_(s < L | (chunk_start c <= s < t.+1)%N)
      (\prod_(r < L | (s < r < t.+1)%N) a r) * B s n * x s p.
  by rewrite -{1}(subnKC le_start1) ssd_state_range subnKC ?ltn_ord.
have Hc n : chunk_carry c n p = ssd_state a B x (chunk_start c) n p.
  have le_startL : (chunk_start c <= L)%N.
    by exact: leq_trans le_start (ltnW (ltn_ord t)).
  by rewrite t13_chunk_carry_is_scan_state (minn_idPl le_startL).
rewrite /chunked_output /ssd_output /ssd_hidden; congr (_ + _).
under [RHS]eq_bigr do rewrite E mulrDr.
rewrite big_split /= addrC; congr (_ + _).
  rewrite big_distrr /=; apply: eq_bigr => n _.
  by rewrite Hc mulrCA; congr (_ * (_ * _)); apply: eq_bigl => r; rewrite ltnS.
under [RHS]eq_bigr do rewrite big_distrr.
rewrite /= exchange_big /=; apply: eq_big => [s|s _].
  rewrite /in_chunk ltnS -andbA; case: (leqP s t) => [le_st|_]; rewrite ?andbF //.
  by rewrite (leq_ltn_trans le_st lt_stop) !andbT.
rewrite mulr_suml mulr_suml; apply: eq_bigr => n _.
by rewrite !mulrA [C t n * B s n * _]mulrAC; congr (_ * _ * _).
Qed.

(* T13, final state: once the chunks cover the sequence (L <= c Q), the
   carried state is the scan's final state h_{L-1}. *)
Corollary t13_chunked_final_state c n p : (L <= chunk_start c)%N ->
  chunk_carry c n p = ssd_state a B x L n p.
Proof. by move=> le_L; rewrite t13_chunk_carry_is_scan_state (minn_idPr le_L). Qed.

(* T13 with T8: the chunked algorithm computes alpha x + D x. *)
Corollary t13_chunked_eq_attention (Q_gt0 : (0 < Q)%N) (t : 'I_L) (p : 'I_P) :
  chunked_output t p =
  \sum_(s < L | (s <= t)%N) ssd_alpha a B C t s * x s p + D p * x t p.
Proof. by rewrite t13_chunked_eq_scan // t8_ssd_unrolling. Qed.

End Chunked.
