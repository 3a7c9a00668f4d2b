/* The reference the benchmark holds chat-trio against: a chat server in C, one thread,
 * epoll, with coalesced writes, speaking just enough of the text door for the benchmark's
 * clients (a name, a welcome, join notices, "Name: text" lines to everyone else).
 *
 *   gcc -O2 -o reference_server benchmarks/reference_server.c
 *   ./reference_server PORT      (0: any free port; prints "listening on 127.0.0.1:PORT")
 *
 * What it does not do, and chat-trio does: rooms, history, accounts, flood control, limits,
 * other doors, flow control. Each round of epoll events is read completely, every line is
 * appended to the output buffer of each recipient, and only then is each buffer written,
 * once (the rest waits for EPOLLOUT): that is "coalesced writes", as chat-trio's hub does
 * per scheduler round. A client whose buffer passes OUT_MAX is dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define LINE_MAX_BYTES 2048
#define OUT_MAX (16 << 20)

typedef struct {
    int open, named, dirty, waiting_out;
    char name[40];
    char in[LINE_MAX_BYTES];
    size_t in_len;
    char *out;
    size_t out_len, out_cap;
} client_t;

static client_t *clients;
static int epfd, chatting;
static int members[MAX_FDS], slot[MAX_FDS]; /* the named clients, in no order */
static int dirty_a[MAX_FDS], dirty_b[MAX_FDS], *dirty = dirty_a, ndirty;

static void die(const char *what) { perror(what); exit(1); }

static void stop(int sig) { (void)sig; _exit(0); }

static void drop(int fd);

static void append(int fd, const char *data, size_t len) {
    client_t *c = &clients[fd];
    if (!c->open) return;
    if (c->out_len + len > OUT_MAX) { drop(fd); return; }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out) die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    if (!c->dirty) { c->dirty = 1; dirty[ndirty++] = fd; }
}

static void broadcast(int from, const char *data, size_t len) {
    for (int i = 0; i < chatting; i++)
        if (members[i] != from) append(members[i], data, len);
}

static void drop(int fd) {
    client_t *c = &clients[fd];
    if (!c->open) return;
    int was_named = c->named;
    char notice[80];
    int n = snprintf(notice, sizeof notice, "* %s left the chat\r\n", c->name);
    c->open = c->named = 0;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_cap = c->in_len = 0;
    close(fd);
    if (was_named) {
        int last = members[--chatting];
        members[slot[fd]] = last;
        slot[last] = slot[fd];
        broadcast(fd, notice, n);
    }
}

static void line(int fd, char *text, size_t len) {
    client_t *c = &clients[fd];
    if (len && text[len - 1] == '\r') len--;
    text[len] = 0;
    char buf[LINE_MAX_BYTES + 80];
    if (!c->named) {
        if (len == 0 || len > 32) return;
        memcpy(c->name, text, len + 1);
        c->named = 1;
        slot[fd] = chatting;
        members[chatting++] = fd;
        int n = snprintf(buf, sizeof buf, "Welcome to the chat, %s! %d users online.\r\n",
                         c->name, chatting);
        append(fd, buf, n);
        n = snprintf(buf, sizeof buf, "* %s joined the chat\r\n", c->name);
        broadcast(fd, buf, n);
        return;
    }
    int n = snprintf(buf, sizeof buf, "%s: %s\r\n", c->name, text);
    broadcast(fd, buf, n);
}

static void readable(int fd) {
    client_t *c = &clients[fd];
    for (;;) {
        ssize_t got = read(fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) { drop(fd); return; }
        if (got < 0) return;
        c->in_len += got;
        size_t start = 0;
        for (size_t i = 0; i < c->in_len; i++) {
            if (c->in[i] == '\n') {
                line(fd, c->in + start, i - start);
                if (!c->open) return;
                start = i + 1;
            }
        }
        memmove(c->in, c->in + start, c->in_len - start);
        c->in_len -= start;
        if (c->in_len >= sizeof c->in - 1) c->in_len = 0; /* a line too long: dropped */
    }
}

static void flush(int fd) {
    client_t *c = &clients[fd];
    c->dirty = 0;
    if (!c->open || c->out_len == 0) return;
    ssize_t put = write(fd, c->out, c->out_len);
    if (put < 0 && errno != EAGAIN) { drop(fd); return; }
    if (put < 0) put = 0;
    memmove(c->out, c->out + put, c->out_len - put);
    c->out_len -= put;
    int want = c->out_len > 0;
    if (want != c->waiting_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        c->waiting_out = want;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    clients = calloc(MAX_FDS, sizeof *clients);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");
    socklen_t size = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &size);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    static struct epoll_event events[1024];
    for (;;) {
        int n = epoll_wait(epfd, events, 1024, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int c;
                while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAX_FDS) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    clients[c] = (client_t){.open = 1};
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, c, &cev);
                    static const char hello[] = "Welcome to the reference server!\r\nEnter your username: ";
                    append(c, hello, sizeof hello - 1);
                }
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) readable(fd);
            if (clients[fd].open && (events[i].events & EPOLLOUT) && !clients[fd].dirty) {
                clients[fd].dirty = 1;
                dirty[ndirty++] = fd;
            }
        }
        int *round = dirty, count = ndirty; /* one write per client, after the round */
        dirty = dirty == dirty_a ? dirty_b : dirty_a;
        ndirty = 0;
        for (int i = 0; i < count; i++) flush(round[i]);
    }
}
