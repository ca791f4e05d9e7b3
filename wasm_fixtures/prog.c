/* A WASI command (it exports _start) for the tests of beamr.run and `beamr run`.
 *
 *   prog cat              copy stdin to stdout, byte for byte
 *   prog count            print how many bytes stdin held
 *   prog exit N           print "bye" to stdout and "err" to stderr, then exit(N)
 *   prog big N            write N bytes to stdout, in 64 KiB writes; byte i is 'a' + i % 26
 *   prog args ...         print each argument on a line of its own
 *   prog env NAME...      print NAME=value, or NAME unset, for each NAME
 *   prog ls DIR           print the names in DIR, sorted, one a line
 *   prog read FILE        copy FILE to stdout
 *   prog write FILE TEXT  write TEXT to FILE
 *   prog mix              write o1 to stdout, e1 to stderr, o2 to stdout, each flushed
 *   prog trap             print "before the trap" (flushed), then trap
 *   prog spin             print "spinning" (flushed), then loop forever
 *   prog return           return from main with status 0, printing nothing
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cat(FILE *in) {
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, in)) > 0) {
        if (fwrite(buffer, 1, got, stdout) != got) return 1;
    }
    return ferror(in) ? 1 : 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ls(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "ls %s: %s\n", path, strerror(errno));
        return 2;
    }
    char *names[256];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 256) {
        if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, ".."))
            names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof names[0], by_name);
    for (int i = 0; i < count; i++) printf("%s\n", names[i]);
    return 0;
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "cat")) return cat(stdin);
    if (!strcmp(what, "count")) {
        long total = 0;
        char buffer[4096];
        size_t got;
        while ((got = fread(buffer, 1, sizeof buffer, stdin)) > 0) total += (long)got;
        printf("%ld\n", total);
        return 0;
    }
    if (!strcmp(what, "exit") && argc > 2) {
        printf("bye\n");
        fprintf(stderr, "err\n");
        exit(atoi(argv[2]));
    }
    if (!strcmp(what, "big") && argc > 2) {
        long size = atol(argv[2]);
        static char block[65536];
        for (long at = 0; at < size;) {
            long n = size - at < (long)sizeof block ? size - at : (long)sizeof block;
            for (long i = 0; i < n; i++) block[i] = (char)('a' + (at + i) % 26);
            if (fwrite(block, 1, (size_t)n, stdout) != (size_t)n) return 1;
            at += n;
        }
        return 0;
    }
    if (!strcmp(what, "args")) {
        for (int i = 2; i < argc; i++) printf("%s\n", argv[i]);
        return 0;
    }
    if (!strcmp(what, "env")) {
        for (int i = 2; i < argc; i++) {
            const char *value = getenv(argv[i]);
            if (value) printf("%s=%s\n", argv[i], value);
            else printf("%s unset\n", argv[i]);
        }
        return 0;
    }
    if (!strcmp(what, "ls") && argc > 2) return ls(argv[2]);
    if (!strcmp(what, "read") && argc > 2) {
        FILE *in = fopen(argv[2], "rb");
        if (!in) {
            fprintf(stderr, "read %s: %s\n", argv[2], strerror(errno));
            return 2;
        }
        int status = cat(in);
        fclose(in);
        return status;
    }
    if (!strcmp(what, "write") && argc > 3) {
        FILE *out = fopen(argv[2], "wb");
        if (!out) {
            fprintf(stderr, "write %s: %s\n", argv[2], strerror(errno));
            return 2;
        }
        fputs(argv[3], out);
        return fclose(out) ? 1 : 0;
    }
    if (!strcmp(what, "mix")) {
        fputs("o1", stdout);
        fflush(stdout);
        fputs("e1", stderr);
        fflush(stderr);
        fputs("o2", stdout);
        fflush(stdout);
        return 0;
    }
    if (!strcmp(what, "trap")) {
        puts("before the trap");
        fflush(stdout);
        __builtin_trap();
    }
    if (!strcmp(what, "spin")) {
        puts("spinning");
        fflush(stdout);
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    if (!strcmp(what, "return")) return 0;
    fprintf(stderr, "usage: prog cat|count|exit N|big N|args ...|env NAME...|ls DIR|"
                    "read FILE|write FILE TEXT|mix|trap|spin|return\n");
    return 64;
}
