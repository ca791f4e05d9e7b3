/*
 * calling.c -- wasm32-wasi reactor module used by beamr's test-suite.
 *
 * Exercises plain numeric calls, strings passed through linear memory,
 * host imports from the "env" module and a little bit of WASI (stdio and
 * the environment).  Built by build.sh; see README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* ---- host imports -------------------------------------------------------- */

IMPORT("host_mul") int host_mul(int a, int b);
IMPORT("host_log") void host_log(const char *msg);
IMPORT("host_string") char *host_string(void);

/* ---- plain calls ------------------------------------------------------- */

EXPORT("noop") void noop(void) {}

EXPORT("add") int add(int a, int b) { return a + b; }

EXPORT("str_len") int str_len(const char *s) { return (int)strlen(s); }

EXPORT("str_upper") char *str_upper(char *s) {
    for (char *p = s; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    }
    return s;
}

static char *make_greeting(const char *name) {
    static const char prefix[] = "Hello, ";
    size_t plen = sizeof(prefix) - 1;
    size_t nlen = strlen(name);
    char *out = malloc(plen + nlen + 2);
    if (out == NULL)
        return NULL;
    memcpy(out, prefix, plen);
    memcpy(out + plen, name, nlen);
    out[plen + nlen] = '!';
    out[plen + nlen + 1] = '\0';
    return out;
}

EXPORT("greet") char *greet(const char *name) { return make_greeting(name); }

EXPORT("sum_bytes") int sum_bytes(const unsigned char *p, int n) {
    int total = 0;
    for (int i = 0; i < n; i++)
        total += p[i];
    return total;
}

EXPORT("fac") double fac(double n) {
    if (n <= 1.0)
        return 1.0;
    return n * fac(n - 1.0);
}

EXPORT("fib") long long fib(int n) {
    long long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        long long t = a + b;
        a = b;
        b = t;
    }
    return a;
}

EXPORT("half") float half(float x) { return x / 2.0f; }

/* ---- calls that go back to the host -------------------------------------- */

EXPORT("mul_via_host") int mul_via_host(int a, int b) { return host_mul(a, b); }

EXPORT("log_greeting") int log_greeting(const char *name) {
    char *msg = make_greeting(name);
    if (msg == NULL)
        return -1;
    int len = (int)strlen(msg);
    host_log(msg);
    free(msg);
    return len;
}

EXPORT("host_string_len") int host_string_len(void) {
    char *s = host_string();
    if (s == NULL)
        return -1;
    int len = (int)strlen(s);
    free(s);
    return len;
}

/* ---- WASI ---------------------------------------------------------------- */

EXPORT("print_hello") int print_hello(void) {
    printf("Hello from WASI!\n");
    fflush(stdout);
    fprintf(stderr, "err line\n");
    return 0;
}

/*
 * Count the environment entries by asking WASI directly (environ_sizes_get,
 * then environ_get).  Using libc's `environ` instead would make wasi-libc
 * fetch the environment eagerly from `_initialize`, so that merely
 * initialising the module would already call into WASI.
 */
EXPORT("get_env_count") int get_env_count(void) {
    __wasi_size_t count = 0, buf_size = 0;
    if (__wasi_environ_sizes_get(&count, &buf_size) != __WASI_ERRNO_SUCCESS)
        return -1;
    uint8_t **entries = calloc(count + 1, sizeof(uint8_t *));
    uint8_t *buf = malloc(buf_size ? buf_size : 1);
    int result = -1;
    if (entries != NULL && buf != NULL &&
        __wasi_environ_get(entries, buf) == __WASI_ERRNO_SUCCESS) {
        result = 0;
        for (__wasi_size_t i = 0; i < count && entries[i] != NULL; i++)
            result++;
    }
    free(buf);
    free(entries);
    return result;
}
