/* `aws` on the namespace test's script PATH: hands the call to the pre-warmed CLI of `netns_aws.py`.
 *
 * It sends its argv, environment (less TINYSTACK_TEST_AWS_SERVER, the server's socket), working directory,
 * stdin/stdout/stderr and network namespace (SCM_RIGHTS) to the server, whose forked child runs the real AWS CLI as
 * this process, and exits with the child's status (255 when the call was killed, as with the instance). It appends
 * its argv to $TINYSTACK_ROOT/aws.calls, so the test can count and inspect each instance's calls.
 *
 * C rather than Python: the scripts make over a hundred calls, and a Python start-up (about 35 ms of CPU, even with
 * -I -S) was a third of each call's cost. `tests/netns.py` compiles it once per run (`cc`).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SERVER_VARIABLE "TINYSTACK_TEST_AWS_SERVER"

extern char **environ;

typedef struct {
    char *data;
    size_t length, capacity;
} Buffer;

static void fail(const char *what) {
    perror(what);
    exit(255);
}

static void put(Buffer *buffer, const char *text, size_t length) {
    if (buffer->length + length > buffer->capacity) {
        buffer->capacity = 2 * (buffer->length + length) + 256;
        buffer->data = realloc(buffer->data, buffer->capacity);
        if (buffer->data == NULL) fail("aws shim: realloc");
    }
    memcpy(buffer->data + buffer->length, text, length);
    buffer->length += length;
}

static void put_text(Buffer *buffer, const char *text) { put(buffer, text, strlen(text)); }

/* A JSON string: quotes, backslashes and control characters escaped; other bytes (UTF-8) as they are. */
static void put_json_string(Buffer *buffer, const char *text, size_t length) {
    put_text(buffer, "\"");
    for (size_t index = 0; index < length; index++) {
        unsigned char byte = (unsigned char)text[index];
        char escaped[8];
        if (byte == '"' || byte == '\\') {
            escaped[0] = '\\';
            escaped[1] = (char)byte;
            put(buffer, escaped, 2);
        } else if (byte < 0x20) {
            snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            put_text(buffer, escaped);
        } else {
            put(buffer, (const char *)&text[index], 1);
        }
    }
    put_text(buffer, "\"");
}

/* {"argv": [...], "env": {...}, "cwd": "..."}, as netns_aws.py reads it. */
static Buffer request(int argc, char **argv) {
    Buffer buffer = {0};
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == NULL) fail("aws shim: getcwd");
    put_text(&buffer, "{\"argv\": [");
    for (int index = 1; index < argc; index++) {
        if (index > 1) put_text(&buffer, ", ");
        put_json_string(&buffer, argv[index], strlen(argv[index]));
    }
    put_text(&buffer, "], \"env\": {");
    int first = 1;
    for (char **entry = environ; *entry != NULL; entry++) {
        const char *equals = strchr(*entry, '=');
        if (equals == NULL || strncmp(*entry, SERVER_VARIABLE "=", sizeof SERVER_VARIABLE) == 0) continue;
        if (!first) put_text(&buffer, ", ");
        first = 0;
        put_json_string(&buffer, *entry, (size_t)(equals - *entry));
        put_text(&buffer, ": ");
        put_json_string(&buffer, equals + 1, strlen(equals + 1));
    }
    put_text(&buffer, "}, \"cwd\": ");
    put_json_string(&buffer, cwd, strlen(cwd));
    put_text(&buffer, "}");
    return buffer;
}

/* One write with O_APPEND: concurrent calls of one instance never interleave their lines. */
static void record_call(int argc, char **argv) {
    const char *root = getenv("TINYSTACK_ROOT");
    if (root == NULL) return;
    Buffer line = {0}, path = {0};
    for (int index = 1; index < argc; index++) {
        if (index > 1) put_text(&line, " ");
        put_text(&line, argv[index]);
    }
    put_text(&line, "\n");
    put_text(&path, root);
    put(&path, "/aws.calls", sizeof "/aws.calls");
    int calls = open(path.data, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (calls < 0 || write(calls, line.data, line.length) != (ssize_t)line.length) fail("aws shim: aws.calls");
    close(calls);
}

static int connect_to(const char *path) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "aws shim: socket path too long: %s\n", path);
        exit(255);
    }
    strcpy(address.sun_path, path);
    int connection = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connection < 0 || connect(connection, (struct sockaddr *)&address, sizeof address) != 0)
        fail("aws shim: connect");
    return connection;
}

/* The request in one message, with stdin, stdout, stderr and this network namespace: the server reads it at once. */
static void send_request(int connection, Buffer *message, int netns) {
    int fds[4] = {0, 1, 2, netns};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec data = {.iov_base = message->data, .iov_len = message->length};
    struct msghdr header = {
        .msg_iov = &data, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *rights = CMSG_FIRSTHDR(&header);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(rights), fds, sizeof fds);
    if (sendmsg(connection, &header, 0) != (ssize_t)message->length) fail("aws shim: sendmsg");
}

int main(int argc, char **argv) {
    const char *server = getenv(SERVER_VARIABLE);
    if (server == NULL) {
        fprintf(stderr, "aws shim: %s is not set\n", SERVER_VARIABLE);
        return 255;
    }
    Buffer message = request(argc, argv);
    record_call(argc, argv);
    int netns = open("/proc/self/ns/net", O_RDONLY);
    if (netns < 0) fail("aws shim: /proc/self/ns/net");
    int connection = connect_to(server);
    send_request(connection, &message, netns);
    close(netns);
    char status[16] = {0};
    ssize_t received = recv(connection, status, sizeof status - 1, 0);
    return received > 0 ? atoi(status) & 0xff : 255; /* nothing: the call was killed, as the instance was */
}
