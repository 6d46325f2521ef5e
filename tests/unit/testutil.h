#ifndef AHD_TESTUTIL_H
#define AHD_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct cfg;

/*
 * Writes main.json (main_json may be NULL for "{}") and services.d/NAME.json
 * for each (name, json) pair into a fresh temporary directory and loads it;
 * fails the test on configuration errors. The directory is removed by
 * tu_cleanup().
 */
struct cfg	*tu_load(const char *main_json, const char *name, const char *svc_json, ...);
void		 tu_cleanup(void);
/* A fresh temporary directory (mode 0755), removed by tu_cleanup(). */
const char	*tu_mkdir(void);
/*
 * Writes an empty main.json and services.d/svc.json and tries to load them;
 * returns NULL with every error joined by newlines in errs (test of bad
 * configurations).
 */
struct cfg	*tu_try_load(const char *svc_json, char *errs, size_t errlen);
/* A listening TCP socket on 127.0.0.1 with the given backlog; *port is set. */
int		 tu_listen(int backlog, uint16_t *port);
/* A port on 127.0.0.1 where nothing listens. */
uint16_t	 tu_closed_port(void);
/* Moves the calling process into a network namespace of its own, lo up. */
void		 tu_private_netns(void);
/* Runs ev until *flag is set or timeout_ms passes; returns *flag. */
bool		 tu_run_until(sd_event *ev, const bool *flag, unsigned timeout_ms);

#endif
