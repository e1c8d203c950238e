package qe

// Route is where a record goes. Its String is the route's one name, used
// alike in the output's qe member ("route"), metrics labels, logs and
// summaries; the config keys that name each route's destination
// (routes.publish, routes.post_edit, routes.critical, routes.review,
// routes.dead_letter)
// say what the destination is for.
type Route int

// Routes, in the order summaries print them.
const (
	// RouteAccepted is an acceptable pair, for publication (routes.publish).
	RouteAccepted Route = iota
	// RouteRejected is a pair the model or a rule prefilter rejected, for
	// post-editing (routes.post_edit, or rules.route for rule rejections).
	RouteRejected
	// RouteCritical is a pair the model flags as a critical error
	// (critical probability >= the pair's threshold), for the critical
	// queue (routes.critical). With routes.critical unset such a pair is
	// RouteRejected instead, with the reason. Never published.
	RouteCritical
	// RouteReview is a pair scored within the review margin of its
	// threshold (routes.review).
	RouteReview
	// RouteDeadLetter is input that could not be scored or delivered
	// (routes.dead_letter).
	RouteDeadLetter
	// NumRoutes is the number of routes, for arrays indexed by Route.
	NumRoutes
)

// String is the route's name: accepted, rejected, critical, review or
// dead_letter.
func (r Route) String() string {
	switch r {
	case RouteAccepted:
		return "accepted"
	case RouteRejected:
		return "rejected"
	case RouteCritical:
		return "critical"
	case RouteReview:
		return "review"
	case RouteDeadLetter:
		return "dead_letter"
	}
	return "unknown"
}
