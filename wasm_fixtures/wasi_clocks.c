// WASI clocks, randomness, sleeping and sched_yield: prints only what is stable
// (tests/test_wasi_preview1.py compares wasmtime's WASI and workers.wasi_preview1).
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec a, b, res;
    // realtime: after 2020, and it moves forward
    printf("realtime: %d\n", clock_gettime(CLOCK_REALTIME, &a));
    printf("after 2020: %d\n", a.tv_sec > 1577836800);
    printf("realtime res: %d %d\n", clock_getres(CLOCK_REALTIME, &res), ns(res) > 0 && ns(res) <= 1000000);
    // monotonic: counts from the instance's start, never backwards
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic: %d %d\n", ns(b) >= ns(a), ns(a) < 60LL * 1000000000LL);
    printf("monotonic res: %d %d\n", clock_getres(CLOCK_MONOTONIC, &res), ns(res) > 0);
    // a 2 ms sleep (poll_oneoff with one relative clock subscription)
    struct timespec nap = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    printf("nanosleep: %d\n", nanosleep(&nap, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("slept 2ms: %d\n", ns(b) - ns(a) >= 2000000);
    // an absolute-time sleep (the general poll_oneoff path)
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec until = a;
    until.tv_nsec += 1000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    printf("clock_nanosleep abs: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("reached: %d\n", ns(b) >= ns(until));
    // randomness: two draws of 32 bytes differ and are not all zero
    unsigned char r1[32], r2[32], zero[32] = {0};
    printf("getentropy: %d %d\n", getentropy(r1, sizeof r1), getentropy(r2, sizeof r2));
    printf("random differs: %d %d\n", memcmp(r1, r2, 32) != 0, memcmp(r1, zero, 32) != 0);
    printf("sched_yield: %d\n", sched_yield());
    return 0;
}
