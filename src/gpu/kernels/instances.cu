// Counter-based generator of the theorem-check instances.
// The Rust mirror is src/gpu_instances.rs; a test keeps the constants in step.
// Every value is an integer converted to float exactly, so device and CPU agree bit for bit.

typedef unsigned long long u64;
typedef unsigned int u32;

#define HA_GOLDEN 0x9E3779B97F4A7C15ULL
#define HA_MIX1 0xBF58476D1CE4E5B9ULL
#define HA_MIX2 0x94D049BB133111EBULL
#define HA_STREAM_DECAY 0u
#define HA_STREAM_ABAR 1u
#define HA_STREAM_BBAR 2u
#define HA_STREAM_C 3u
#define HA_STREAM_X 4u
#define HA_MAX_DECAY 24ULL

__device__ __forceinline__ u64 ha_mix64(u64 z) {
    z = (z ^ (z >> 30)) * HA_MIX1;
    z = (z ^ (z >> 27)) * HA_MIX2;
    return z ^ (z >> 31);
}

__device__ __forceinline__ u64 ha_instance_key(u64 seed, u64 instance) {
    return ha_mix64(seed ^ ha_mix64(instance + HA_GOLDEN));
}

__device__ __forceinline__ u64 ha_draw(u64 key, u32 stream, u32 index) {
    u64 counter = (((u64)stream) << 32) | (u64)index;
    return ha_mix64(key + counter * HA_GOLDEN);
}

// (m - 2^23) * 2^-22 for the top 24 bits m: a value in [-2, 2), exact in float.
__device__ __forceinline__ float ha_signed_value(u64 bits) {
    long long m = (long long)(bits >> 40) - 8388608LL;
    return (float)m * 2.384185791015625e-07f;
}

__device__ __forceinline__ u32 ha_decay_exponent(u64 bits) {
    return (u32)((bits >> 32) % (HA_MAX_DECAY + 1ULL));
}

// (2^24 - max(1, m >> k)) * 2^-24: a transition in [2^-24, 1), exact in float.
__device__ __forceinline__ float ha_transition_value(u64 bits, u32 k) {
    u64 d = (bits >> 40) >> k;
    if (d < 1ULL) d = 1ULL;
    return (float)(16777216ULL - d) * 5.9604644775390625e-08f;
}
