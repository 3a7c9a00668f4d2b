/* Steady-load client in C, so that latency measures the server rather than the clients.
 *
 * usage: steady_client PORT[,PORT...] CLIENTS SENDERS RATE SECONDS [wait]
 *
 * Connects CLIENTS sockets to 127.0.0.1:PORT and registers them as c0, c1, ...; then the
 * first SENDERS send "m <sender> <seq> <CLOCK_MONOTONIC ns>\n" at RATE lines/s each for
 * SECONDS; every client reads everything and records, for each message line, the time
 * from its send to its receipt. Prints "ready" when the sending starts, then one JSON
 * object: counts and latency percentiles.
 * With several ports (several nodes of one chat: run.py --nodes), the senders connect to
 * the first and the others to each port in turn; the JSON then also counts the lines
 * received by clients of the other ports ("cross_delivered"). With "wait", after "ready" it
 * waits for a line on stdin (the parent's "go": every node hears the room) before sending.
 * Built and run by benchmarks/run.py (--c-client); every wait is bounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    char partial[4096];
    size_t used;
    long received;
    int node; /* index of its port in PORT,PORT,... */
} client_t;

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long *latencies;
static size_t n_latencies, cap_latencies;

/* Count message lines in what arrived, keeping an unfinished line for the next read. */
static void consume(client_t *c, const char *data, size_t len, long received_at) {
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch != '\n') {
            if (c->used < sizeof c->partial - 1) c->partial[c->used++] = ch;
            continue;
        }
        c->partial[c->used] = 0;
        char *mark = strstr(c->partial, ": m ");
        if (mark) {
            long sender, seq, sent_at;
            if (sscanf(mark + 4, "%ld %ld %ld", &sender, &seq, &sent_at) == 3) {
                c->received++;
                if (n_latencies < cap_latencies) latencies[n_latencies++] = received_at - sent_at;
            }
        }
        c->used = 0;
    }
}

static void register_client(client_t *c, int port, int index) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval timeout = {.tv_sec = 10};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    char name[32];
    int n = snprintf(name, sizeof name, "c%d\n", index);
    if (write(c->fd, name, n) != n) die("write name");
    char buf[8192];
    size_t have = 0;
    for (;;) { /* until the line that starts with "Welcome to the chat" has ended */
        ssize_t got = read(c->fd, buf + have, sizeof buf - 1 - have);
        if (got <= 0) die("read welcome");
        have += got;
        buf[have] = 0;
        char *welcome = strstr(buf, "Welcome to the chat");
        if (welcome && strchr(welcome, '\n')) break;
        if (have > sizeof buf - 256) have = 0; /* join notices of others: skip */
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv) {
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "wait") == 0)) {
        fprintf(stderr, "usage: %s PORT[,PORT...] CLIENTS SENDERS RATE SECONDS [wait]\n",
                argv[0]);
        return 2;
    }
    int ports[64], n_ports = 0;
    for (char *p = strtok(argv[1], ","); p && n_ports < 64; p = strtok(NULL, ","))
        ports[n_ports++] = atoi(p);
    if (n_ports == 0) return 2;
    int n = atoi(argv[2]), senders = atoi(argv[3]);
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);

    client_t *clients = calloc(n, sizeof *clients);
    long per_sender = (long)(rate * seconds);
    long expected = per_sender * ((long)senders * n - senders);
    cap_latencies = expected;
    latencies = malloc(sizeof(long) * (cap_latencies ? cap_latencies : 1));
    for (int i = 0; i < n; i++) {
        clients[i].node = i < senders ? 0 : (i - senders) % n_ports;
        register_client(&clients[i], ports[clients[i].node], i);
    }

    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev);
    }
    /* Drain join notices that arrived after each registration before measuring. */
    struct epoll_event events[1024];
    static char buf[65536];
    long start = now_ns(), settle_until = start + 500000000L;
    while (now_ns() < settle_until) {
        int ready = epoll_wait(ep, events, 1024, 50);
        for (int k = 0; k < ready; k++) {
            while (read(clients[events[k].data.u32].fd, buf, sizeof buf) > 0) {
            }
        }
    }
    printf("ready\n"); /* the parent samples the server's CPU time from here */
    fflush(stdout);
    if (argc == 7) { /* drain notices until the parent's "go" (or EOF) */
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)n};
        epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
        for (int go = 0; !go;) {
            int ready = epoll_wait(ep, events, 1024, 50);
            for (int k = 0; k < ready; k++) {
                if (events[k].data.u32 == (unsigned)n) {
                    go = 1;
                    continue;
                }
                while (read(clients[events[k].data.u32].fd, buf, sizeof buf) > 0) {
                }
            }
        }
        epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
    }
    long *sent = calloc(senders, sizeof *sent);
    long begin = now_ns(), end = begin + (long)(seconds * 1e9);
    long deadline = end + 10000000000L; /* 10 s to drain */
    long received = 0;
    while (received < expected && now_ns() < deadline) {
        long t = now_ns();
        if (t < end) {
            for (int s = 0; s < senders; s++) {
                /* Senders are spread over each period, as independent people would be. */
                double phase = (double)s / senders / rate;
                long due = (long)(((t - begin) / 1e9 - phase) * rate) + 1;
                if (due > per_sender) due = per_sender;
                while (sent[s] < due) {
                    char line[96];
                    int len = snprintf(line, sizeof line, "m %d %ld %ld\n", s, sent[s], now_ns());
                    if (write(clients[s].fd, line, len) != len) die("write message");
                    sent[s]++;
                }
            }
        }
        int ready = epoll_wait(ep, events, 1024, 1);
        long received_at = now_ns();
        for (int k = 0; k < ready; k++) {
            client_t *c = &clients[events[k].data.u32];
            ssize_t got;
            while ((got = read(c->fd, buf, sizeof buf)) > 0) {
                long before = c->received;
                consume(c, buf, got, received_at);
                received += c->received - before;
            }
        }
    }
    qsort(latencies, n_latencies, sizeof(long), cmp_long);
    double p50 = n_latencies ? latencies[n_latencies / 2] / 1e6 : -1;
    double p99 = n_latencies ? latencies[(size_t)(n_latencies * 0.99)] / 1e6 : -1;
    double max = n_latencies ? latencies[n_latencies - 1] / 1e6 : -1;
    printf("{\"expected\": %ld, \"delivered\": %ld, \"latency_ms_p50\": %.3f, "
           "\"latency_ms_p99\": %.3f, \"latency_ms_max\": %.3f",
           expected, received, p50, p99, max);
    if (n_ports > 1) {
        long cross = 0;
        for (int i = 0; i < n; i++)
            if (clients[i].node != 0) cross += clients[i].received;
        printf(", \"cross_delivered\": %ld", cross);
    }
    printf("}\n");
    for (int i = 0; i < n; i++) close(clients[i].fd);
    return 0;
}
