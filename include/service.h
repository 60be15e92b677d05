/* service: what a service manager sees of the daemon: readiness, reloads and stopping on
 * the notification socket (notify.h), a STATUS= line as tunnels come and go (at most one a
 * second, none while nothing changes), and --exit-idle: with sockets from a socket unit,
 * exit after so long without a tunnel; the manager starts us again on the next client. */
#ifndef SOCKS2HTTP_SERVICE_H
#define SOCKS2HTTP_SERVICE_H

#include <ev.h>
#include <stdint.h>

struct service {
	struct ev_loop *loop;
	double exit_idle;          /* seconds; 0: never exit for idleness */
	ev_timer idle;             /* runs while no tunnel is open */
	ev_timer status;           /* a STATUS= line is due */
	const unsigned *ntunnels;  /* the owner's counters, read when a line goes out */
	const uint64_t *accepted;
	unsigned sent_tunnels;     /* what the last STATUS= said */
	uint64_t sent_accepted;
	int sent;
	void (*idle_exit)(struct service *sv); /* exit_idle is over: the owner stops */
	void *data;
};

void service_init(struct service *sv, struct ev_loop *loop, double exit_idle, const unsigned *ntunnels,
		  const uint64_t *accepted, void (*idle_exit)(struct service *sv), void *data);
/* Listening: READY=1 and the first STATUS=; the idle clock starts. */
void service_ready(struct service *sv);
/* A tunnel opened or closed. */
void service_tunnels_changed(struct service *sv);
/* SIGHUP: RELOADING=1 before the configuration is read again, READY=1 after. */
void service_reloading(struct service *sv);
void service_reloaded(struct service *sv);
/* A reload's --exit-idle (0: off). */
void service_set_exit_idle(struct service *sv, double exit_idle);
/* SIGTERM/SIGINT or idle exit: STOPPING=1; the idle clock stops. */
void service_stopping(struct service *sv);
/* Stops the timers; harmless on a zeroed struct (service_init never called). */
void service_destroy(struct service *sv);

#endif
