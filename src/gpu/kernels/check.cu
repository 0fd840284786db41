// Theorem-check kernel: T1 (scan = alpha~ x) and T2b (factored) on random instances
// generated on the device (instances.cu, prepended by the host), against an f64 reference
// scan and the forward error bound of src/theorems/bound.rs. Compiled with --fmad=false so
// every float operation is one IEEE rounding, as in the bound's model and on the CPU.
//
// Launch: grid = number of resident blocks (each loops over instances), block = 256
// threads, dynamic shared memory = L floats (x). Scratch per block: 5 L*N floats and
// 2 L*N doubles.

#define HA_CHECK_MAXN 64
#define HA_CHECK_THREADS 256
#define HA_HIST_BUCKETS 48
#define HA_INF __longlong_as_double(0x7ff0000000000000LL)
#define HA_INF_F __int_as_float(0x7f800000)

__device__ __forceinline__ int ha_is_normal(float v) {
    float a = fabsf(v);
    return a >= 1.17549435e-38f && a <= 3.40282347e38f;
}

// Block-wide max of a double; every thread gets the result. `red` has blockDim.x entries.
__device__ double ha_block_max(double v, double* red) {
    red[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            double o = red[threadIdx.x + s];
            double m = red[threadIdx.x];
            // NaN wins, so that a NaN anywhere reads as a failure.
            red[threadIdx.x] = (o != o || o > m) ? o : m;
        }
        __syncthreads();
    }
    double r = red[0];
    __syncthreads();
    return r;
}

__device__ double ha_block_sum(double v, double* red) {
    red[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
    double r = red[0];
    __syncthreads();
    return r;
}

__device__ __forceinline__ double ha_ratio(double err, double bound) {
    if (err == 0.0) return 0.0;
    return err / bound;
}

// results: 4 floats per instance (scan ratio, alpha~x ratio, factored ratio or -1, relative)
// worst: [0] = (float bits of worst ratio) << 32 | (0xffffffff - instance index), [1] = same
//        for the relative error; atomicMax keeps the largest value and, on ties, the
//        lowest index (as the host's in-order scan does; gpu_instances::worst_key)
// histogram: HA_HIST_BUCKETS counters of the worst ratio per instance
extern "C" __global__ void theorem_check(
    u64 seed, u64 first_instance, int count, int L, int N,
    double g32, double g64,
    float* scratch_f, double* scratch_d,
    float* results, u64* worst, u64* histogram)
{
    extern __shared__ float sx[];
    __shared__ double red[HA_CHECK_THREADS];
    __shared__ u32 kexp[HA_CHECK_MAXN];
    __shared__ int refused;

    const int LN = L * N;
    const int tid = threadIdx.x;
    const int bd = blockDim.x;
    float* abar = scratch_f + (size_t)blockIdx.x * 5 * LN;
    float* bbar = abar + LN;
    float* cc = bbar + LN;
    float* term_scan = cc + LN;
    float* term_fact = term_scan + LN;
    double* term_ref = scratch_d + (size_t)blockIdx.x * 2 * LN;
    double* term_mag = term_ref + LN;

    for (int inst = blockIdx.x; inst < count; inst += gridDim.x) {
        const u64 key = ha_instance_key(seed, first_instance + (u64)inst);
        if (tid == 0) refused = 0;
        for (int n = tid; n < N; n += bd) kexp[n] = ha_decay_exponent(ha_draw(key, HA_STREAM_DECAY, (u32)n));
        __syncthreads();

        // 1. generate the instance; local maxima for eta
        double maxb = 0.0, maxc = 0.0, maxx = 0.0;
        for (int idx = tid; idx < LN; idx += bd) {
            float a = ha_transition_value(ha_draw(key, HA_STREAM_ABAR, (u32)idx), kexp[idx % N]);
            float b = ha_signed_value(ha_draw(key, HA_STREAM_BBAR, (u32)idx));
            float c = ha_signed_value(ha_draw(key, HA_STREAM_C, (u32)idx));
            abar[idx] = a;
            bbar[idx] = b;
            cc[idx] = c;
            maxb = fmax(maxb, (double)fabsf(b));
            maxc = fmax(maxc, (double)fabsf(c));
        }
        for (int t = tid; t < L; t += bd) {
            float xt = ha_signed_value(ha_draw(key, HA_STREAM_X, (u32)t));
            sx[t] = xt;
            maxx = fmax(maxx, (double)fabsf(xt));
        }
        __syncthreads();
        maxb = ha_block_max(maxb, red);
        maxc = ha_block_max(maxc, red);
        maxx = ha_block_max(maxx, red);
        // underflow term of src/theorems/bound.rs (standard model with underflow, eta0 the
        // smallest f32 subnormal), with every |Abar| < 1 here: (1 + g) eta0 W_t <= eta for
        // W_t <= (L + 2) L N max(1,|C|) max(1,|Bbar|) max(1,|x|); the factor 2 covers
        // (1 + g) and the f64 reference's own underflow
        const double eta = 2.0 * (double)(L + 2) * (double)LN * 1.401298464324817e-45
            * fmax(1.0, maxc) * fmax(1.0, maxb) * fmax(1.0, maxx);

        // 2. one thread per state: f32 scan, f32 factored, f64 reference and magnitude
        for (int n = tid; n < N; n += bd) {
            float h = 0.0f, p = 1.0f, s = 0.0f;
            double h64 = 0.0, habs = 0.0;
            int bad = 0;
            for (int t = 0; t < L; ++t) {
                const int i = t * N + n;
                const float a = abar[i], b = bbar[i], c = cc[i], xt = sx[t];
                h = h * a;
                h = h + b * xt;
                term_scan[i] = c * h;
                h64 = h64 * (double)a + (double)b * (double)xt;
                habs = habs * (double)fabsf(a) + (double)fabsf(b) * (double)fabsf(xt);
                term_ref[i] = (double)c * h64;
                term_mag[i] = (double)fabsf(c) * habs;
                if (!bad) {
                    p = p * a;
                    const float q = c * p;
                    const float k = b / p;
                    if (!ha_is_normal(p)) bad = 1;
                    if (!ha_is_normal(q) && !(c == 0.0f && q == 0.0f)) bad = 1;
                    if (!ha_is_normal(k) && !(b == 0.0f && k == 0.0f)) bad = 1;
                    s = s + k * xt;
                    term_fact[i] = q * s;
                }
            }
            if (bad) atomicExch(&refused, 1);
        }
        __syncthreads();

        // 3. one thread per output: sums over states, alpha~ x by rows, errors
        double r_scan = 0.0, r_att = 0.0, r_fact = 0.0, e_max = 0.0, m_max = 0.0;
        const int fact_ok = !refused;
        for (int t = tid; t < L; t += bd) {
            float ys = 0.0f, yf = 0.0f;
            double yr = 0.0, mg = 0.0;
            float p[HA_CHECK_MAXN];
            for (int n = 0; n < N; ++n) {
                const int i = t * N + n;
                ys = ys + term_scan[i];
                if (fact_ok) yf = yf + term_fact[i];
                yr = yr + term_ref[i];
                mg = mg + term_mag[i];
                p[n] = cc[i];
            }
            // row t of alpha~ right to left with one running product, dotted with x
            float ya = 0.0f;
            for (int j = t; j >= 0; --j) {
                float d = 0.0f;
                for (int n = 0; n < N; ++n) d = d + p[n] * bbar[j * N + n];
                ya = ya + d * sx[j];
                if (j > 0)
                    for (int n = 0; n < N; ++n) p[n] = p[n] * abar[j * N + n];
            }
            const double bound = (g32 + 2.0 * g64) * mg + eta;
            const double es = isfinite(ys) ? fabs((double)ys - yr) : HA_INF;
            const double ea = isfinite(ya) ? fabs((double)ya - yr) : HA_INF;
            const double ef = fact_ok ? (isfinite(yf) ? fabs((double)yf - yr) : HA_INF) : 0.0;
            r_scan = fmax(r_scan, ha_ratio(es, bound));
            r_att = fmax(r_att, ha_ratio(ea, bound));
            r_fact = fmax(r_fact, ha_ratio(ef, bound));
            e_max = fmax(e_max, fmax(es, fmax(ea, ef)));
            m_max = fmax(m_max, mg);
        }
        r_scan = ha_block_max(r_scan, red);
        r_att = ha_block_max(r_att, red);
        r_fact = ha_block_max(r_fact, red);
        e_max = ha_block_max(e_max, red);
        m_max = ha_block_max(m_max, red);

        // 4. per-instance results and device-side reductions
        if (tid == 0) {
            const double scale = fmax(m_max, 2.2250738585072014e-308);
            const double rel = e_max / scale;
            float* out = results + (size_t)inst * 4;
            out[0] = (float)r_scan;
            out[1] = (float)r_att;
            out[2] = fact_ok ? (float)r_fact : -1.0f;
            out[3] = (float)rel;
            double w = fmax(r_scan, fmax(r_att, fact_ok ? r_fact : 0.0));
            if (w != w || r_scan != r_scan || r_att != r_att) w = HA_INF;
            const float wf = (float)w;
            const u64 off = (u64)(0xffffffffu - (u32)(first_instance + (u64)inst));
            atomicMax(&worst[0], ((u64)__float_as_uint(wf) << 32) | off);
            const float rf = (rel != rel) ? HA_INF_F : (float)rel;
            atomicMax(&worst[1], ((u64)__float_as_uint(rf) << 32) | off);
            // bucket of the float value, as the host reads it back
            int bucket;
            if (wf <= 0.0f) bucket = 0;
            else if (isinf(wf)) bucket = HA_HIST_BUCKETS - 1;
            else {
                bucket = ilogbf(wf) + 41;
                if (bucket < 1) bucket = 1;
                if (bucket > HA_HIST_BUCKETS - 1) bucket = HA_HIST_BUCKETS - 1;
            }
            atomicAdd(&histogram[bucket], 1ULL);
        }
        __syncthreads();
    }
}
