// WASI stdio, arguments and environment, compared between wasmtime's WASI and
// workers.wasi_preview1 (tests/test_wasi_preview1.py).
//
// argv[1] is a mode: "echo" copies stdin to stdout upper-cased through a 7-byte
// buffer (stdin larger than the buffer), with a line on stderr for each read;
// "args" prints the arguments and the environment; "exit N" exits with N;
// "interleave" alternates unbuffered writes to stdout and stderr.
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int echo(void) {
    char buf[7];
    long total = 0;
    int reads = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            fprintf(stderr, "read failed: errno %d\n", errno);
            return 3;
        }
        if (n == 0)
            break;
        reads++;
        total += n;
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        if (write(1, buf, (size_t)n) != n)
            return 4;
        fprintf(stderr, "read %zd\n", n);
    }
    // a read at EOF again answers 0
    ssize_t again = read(0, buf, sizeof buf);
    fprintf(stderr, "total %ld in %d reads, then %zd\n", total, reads, again);
    return 0;
}

static int args(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    int count = 0;
    for (char **e = environ; *e; e++, count++)
        printf("env[%d]=[%s]\n", count, *e);
    const char *home = getenv("HOME");
    printf("HOME=%s\n", home ? home : "(unset)");
    printf("isatty(0..2)=%d%d%d\n", isatty(0), isatty(1), isatty(2));
    return 0;
}

static int interleave(void) {
    for (int i = 0; i < 5; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "out %d\n", i);
        write(1, line, (size_t)n);
        n = snprintf(line, sizeof line, "err %d\n", i);
        write(2, line, (size_t)n);
    }
    // a gathered write: several iovecs in one call
    fputs("gathered ", stdout);
    fputs("through stdio", stdout);
    fputs(" buffers\n", stdout);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "echo"))
        return echo();
    if (!strcmp(argv[1], "args"))
        return args(argc, argv);
    if (!strcmp(argv[1], "interleave"))
        return interleave();
    if (!strcmp(argv[1], "exit") && argc > 2) {
        printf("exiting with %s\n", argv[2]);
        fflush(stdout);
        exit(atoi(argv[2]));
    }
    return 2;
}
