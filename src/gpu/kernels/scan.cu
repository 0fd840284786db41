// Batched selective scan (selective_scan_ref semantics, variable B and C):
//   u, delta, z: (batch, dim, L); A: (dim, N); B, C: (batch, N, L); D, delta_bias: (dim)
//   dt = softplus(delta + delta_bias) if softplus, Abar = exp(dt A), Bbar = dt B (Euler)
//   h_t = Abar_t h_{t-1} + Bbar_t u_t, y_t = <C_t, h_t>, out = (y + D u) * silu(z)
// One warp per channel (b, d); lane n holds states n, n + 32, n + 64, n + 96 (N <= 128).
// The per-channel sequences (u, delta, z, out) move 32 steps at a time, coalesced, and
// are broadcast to the warp with shuffles.

#define HA_SCAN_MAXN 128
#define HA_SCAN_PER_LANE 4

extern "C" __global__ void selective_scan(
    const float* u, const float* delta, const float* A, const float* B, const float* C,
    const float* D, const float* z, const float* delta_bias,
    int batch, int dim, int L, int N, int has_z, int softplus,
    float* out, float* last_state)
{
    const int warp = (int)((blockIdx.x * (unsigned)blockDim.x + threadIdx.x) >> 5);
    const int lane = threadIdx.x & 31;
    if (warp >= batch * dim) return;
    const int b = warp / dim;
    const int d = warp % dim;
    const size_t base = (size_t)warp * L;
    const float bias = delta_bias[d];
    const float skip = D[d];

    float h[HA_SCAN_PER_LANE];
    float a[HA_SCAN_PER_LANE];
#pragma unroll
    for (int s = 0; s < HA_SCAN_PER_LANE; ++s) {
        const int n = lane + 32 * s;
        h[s] = 0.0f;
        a[s] = n < N ? A[d * N + n] : 0.0f;
    }

    for (int t0 = 0; t0 < L; t0 += 32) {
        const int t = t0 + lane;
        float uu = 0.0f, dt = 0.0f, zz = 0.0f;
        if (t < L) {
            uu = u[base + t];
            dt = delta[base + t] + bias;
            if (softplus) dt = dt > 20.0f ? dt : log1pf(expf(dt));
            if (has_z) zz = z[base + t];
        }
        const int steps = min(32, L - t0);
        float mine = 0.0f;
        for (int k = 0; k < steps; ++k) {
            const float ut = __shfl_sync(0xffffffffu, uu, k);
            const float dtt = __shfl_sync(0xffffffffu, dt, k);
            const int tk = t0 + k;
            float part = 0.0f;
#pragma unroll
            for (int s = 0; s < HA_SCAN_PER_LANE; ++s) {
                const int n = lane + 32 * s;
                if (n < N) {
                    const size_t bc = ((size_t)b * N + n) * L + tk;
                    const float abar = expf(dtt * a[s]);
                    h[s] = abar * h[s] + (dtt * B[bc]) * ut;
                    part += C[bc] * h[s];
                }
            }
#pragma unroll
            for (int off = 16; off > 0; off >>= 1) part += __shfl_xor_sync(0xffffffffu, part, off);
            if (lane == k) mine = part;
        }
        if (t < L) {
            float v = mine + skip * uu;
            if (has_z) v = v * (zz / (1.0f + expf(-zz)));
            out[base + t] = v;
        }
    }
#pragma unroll
    for (int s = 0; s < HA_SCAN_PER_LANE; ++s) {
        const int n = lane + 32 * s;
        if (n < N) last_state[(size_t)warp * N + n] = h[s];
    }
}
