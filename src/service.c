/* service: readiness, status and --exit-idle (see include/service.h). */
#include "service.h"

#include <stddef.h>

#include "log.h"
#include "notify.h"

#define STATUS_DELAY 1.0 /* seconds: STATUS= lines are at most this frequent */

static void send_status(struct service *sv)
{
	if (sv->sent && sv->sent_tunnels == *sv->ntunnels && sv->sent_accepted == *sv->accepted)
		return;
	sv->sent = 1;
	sv->sent_tunnels = *sv->ntunnels;
	sv->sent_accepted = *sv->accepted;
	notify_send("STATUS=%u tunnel%s, %llu accepted", *sv->ntunnels, *sv->ntunnels == 1 ? "" : "s",
		    (unsigned long long)*sv->accepted);
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct service *sv = (struct service *)(void *)((char *)w - offsetof(struct service, status));
	(void)loop;
	(void)revents;
	send_status(sv);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct service *sv = (struct service *)(void *)((char *)w - offsetof(struct service, idle));
	(void)loop;
	(void)revents;
	if (*sv->ntunnels > 0)
		return;
	log_info("no tunnel for %gs (--exit-idle): exiting; the socket unit starts us again", sv->exit_idle);
	service_stopping(sv);
	sv->idle_exit(sv);
}

void service_init(struct service *sv, struct ev_loop *loop, double exit_idle, const unsigned *ntunnels,
		  const uint64_t *accepted, void (*idle_exit)(struct service *sv), void *data)
{
	sv->loop = loop;
	sv->sent = 0;
	sv->exit_idle = exit_idle;
	sv->ntunnels = ntunnels;
	sv->accepted = accepted;
	sv->idle_exit = idle_exit;
	sv->data = data;
	ev_timer_init(&sv->idle, idle_cb, exit_idle, 0);
	ev_timer_init(&sv->status, status_cb, STATUS_DELAY, 0);
	if (exit_idle > 0)
		log_info("exiting after %gs without a tunnel (--exit-idle)", exit_idle);
}

void service_ready(struct service *sv)
{
	notify_ready();
	send_status(sv);
	service_tunnels_changed(sv);
}

void service_tunnels_changed(struct service *sv)
{
	if (sv->exit_idle > 0) {
		if (*sv->ntunnels > 0)
			ev_timer_stop(sv->loop, &sv->idle);
		else if (!ev_is_active(&sv->idle)) {
			ev_timer_set(&sv->idle, sv->exit_idle, 0);
			ev_timer_start(sv->loop, &sv->idle);
		}
	}
	if (notify_enabled() && !ev_is_active(&sv->status)) {
		ev_timer_set(&sv->status, STATUS_DELAY, 0);
		ev_timer_start(sv->loop, &sv->status);
	}
}

void service_reloading(struct service *sv)
{
	(void)sv;
	notify_reloading();
}

void service_reloaded(struct service *sv)
{
	notify_ready();
	sv->sent = 0; /* the manager shows the status again after a reload */
	send_status(sv);
}

void service_set_exit_idle(struct service *sv, double exit_idle)
{
	if (exit_idle == sv->exit_idle)
		return;
	sv->exit_idle = exit_idle;
	ev_timer_stop(sv->loop, &sv->idle); /* the idle clock starts again with the new value */
	service_tunnels_changed(sv);
}

void service_stopping(struct service *sv)
{
	ev_timer_stop(sv->loop, &sv->idle);
	ev_timer_stop(sv->loop, &sv->status);
	notify_stopping();
}

void service_destroy(struct service *sv)
{
	if (sv->loop == NULL) /* server_init failed before service_init */
		return;
	ev_timer_stop(sv->loop, &sv->idle);
	ev_timer_stop(sv->loop, &sv->status);
}
