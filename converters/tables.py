"""The output tables: every column with its type, unit and meaning, and each table's natural key.

These definitions are the single source of the polars schemas, the de-duplication keys and the README's
data dictionary (`make docs` writes it there).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC_TIME = pl.Datetime("us", "UTC")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key (with participant_id): one row per key value
    group: str | None = None  # rows come as whole sets per value of this column: a newer set replaces an older one
    derived: bool = False  # a view worked out from the decoded tables (converters/views), never decoded or read back
    local_time: str | None = None  # where the wearer's local time comes from, or that there is none

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.dtype == UTC_TIME)

    @property
    def row_schema(self) -> dict[str, pl.DataType]:
        """The schema of decoded rows: times as epoch µs integers, provenance not yet added."""
        provenance = {c.name for c in PROVENANCE}
        return {c.name: pl.Int64 if c.dtype == UTC_TIME else c.dtype for c in self.columns if c.name not in provenance}


def C(name: str, dtype: pl.DataType, description: str, unit: str | None = None) -> Column:
    return Column(name, dtype, description, unit)


PROVENANCE = (
    C("participant_id", pl.String, "Study participant the capture belongs to (null unless given)"),
    C("source_file", pl.String, "Capture file the row was read from"),
    C("source_entry", pl.Int64, "0-based index of the HAR entry or flow in that file"),
    C("captured_at", UTC_TIME, "When the response was captured (UTC)"),
)

S, I, F, B, D = pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Date


def table(
    name: str,
    description: str,
    key: tuple[str, ...],
    *columns: Column,
    group: str | None = None,
    derived: bool = False,
    local_time: str | None = None,
) -> Table:
    return Table(name, description, (*columns, *PROVENANCE), ("participant_id", *key), group, derived, local_time)


def hr_zone_columns(where: str) -> tuple[Column, ...]:
    """Minutes per heart-rate zone (every Band API sends minutes), as seconds; and the maximum heart rate they use."""
    return (
        C("hr_zone_under_s", F, f"Time below 50% of max heart rate ({where}: Under / underHealthyHeart)", "s"),
        C("hr_zone_healthy_heart_s", F, "Time at 50-60% of max heart rate (HealthyHeart)", "s"),
        C("hr_zone_fitness_s", F, "Time at 60-70% of max heart rate (FitnessZone)", "s"),
        C("hr_zone_aerobic_s", F, "Time at 70-80% of max heart rate (Aerobic)", "s"),
        C("hr_zone_anaerobic_s", F, "Time at 80-90% of max heart rate (Anaerobic)", "s"),
        C("hr_zone_redline_s", F, "Time at 90-100% of max heart rate (RedLine)", "s"),
        C("hr_zone_over_s", F, "Time above max heart rate (Over / overRedline)", "s"),
        C("max_hr_bpm", F, "The maximum heart rate the zones are worked out from (MaxHR / MaxHr; Windows clients)",
          "bpm"),
    )


def distance_columns(of: str) -> tuple[Column, ...]:
    """What a public `distanceSummary` holds beyond the distance itself (the private API names the same)."""
    return (
        C("actual_distance_m", F, f"Distance {of} including what was covered while paused (ActualDistance)", "m"),
        C("altitude_gain_m", F, f"Altitude gained {of}", "m"),
        C("altitude_loss_m", F, f"Altitude lost {of}", "m"),
        C("max_altitude_m", F, f"Highest altitude {of}", "m"),
        C("min_altitude_m", F, f"Lowest altitude {of}", "m"),
        C("waypoint_distance_m", F, "Distance between recorded GPS points (WayPointDistance)", "m"),
        C("speed_avg_m_s", F, f"Average speed {of} (cm/s in the API)", "m/s"),
        C("pace_s_per_km", F, f"Average pace {of} (ms/km in the API)", "s/km"),
        C("overall_pace_s_per_km", F, "Total distance to the end of this period over total time to it (OverallPace)",
          "s/km"),
    )


PUBLIC_OFFSET = ("The UTC offset {time} was written with (null for +00:00 and Z, as the service wrote "
                 "activities in UTC whatever the wearer's zone: the private API writes UTC, so its rows have none "
                 "but a time written at another offset)")

BAND_EVENTS = table(
    "band_events",
    "One row per Microsoft Band event (sleep, run, bike, workout, guided workout, golf, hike).",
    ("event_id",),
    C("event_id", S, "Band event id (EventId); decodes to the start time"),
    C("api", S, "Which Band API the row came from: private (dns-cargo.com OData) or public (Health Cloud API)"),
    C("event_type", S, "EventType: Sleeping, Running, Biking, Workout, GuidedWorkout, Golf, Hike…"),
    C("name", S, "User's label for the event"),
    C("day_id", D, "Local calendar day the event is filed under (DayId; a sleep starting before 5 AM is the day "
      "before)"),
    C("start_time", UTC_TIME, "Start of the event (UTC; the public API's, written to the ms, to the µs its id "
                               "names, as the private API writes it)"),
    C("utc_offset_s", I, PUBLIC_OFFSET.format(time="startTime"), "s"),
    C("duration_s", F, "Duration, pauses excluded", "s"),
    C("paused_s", F, "Time paused", "s"),
    C("parent_event_id", S, "The event this one is part of (ParentEventId; null when \"0\"); for a golf round's "
      "child activities, the round"),
    C("device_id", S, "The device that recorded it (public deviceId; see band_devices)"),
    C("created_time", UTC_TIME, "When the service created the activity (public createdTime, UTC)"),
    C("created_by", S, "The app that created the activity (public createdBy)"),
    C("delivery_id", I, "DeliveryID as the private API sent it (service bookkeeping; 0 in every real payload)"),
    C("flags", I, "Flags as the private API sent it (a bit field the apps do not read; 1 in every real payload)"),
    C("feeling", S, "How the wearer said the exercise felt (Feeling: Unknown unless rated)"),
    C("analysis_status", S, "Whether the service's analysis of the exercise succeeded (AnalysisStatus)"),
    C("distance_m", F, "Total distance (TotalDistance); golf: distance walked; null when the event has none", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot", "m"),
    *distance_columns("over the event"),
    C("split_length_m", F, "Length of the event's splits, as the wearer chose: 1000 m (km) or 1609.34 m (mile) "
      "(SplitDistance); a split row in band_sequences covers this distance", "m"),
    C("speed_max_m_s", F, "Bike rides: highest speed (MaxSpeed, cm/s)", "m/s"),
    C("steps", I, "Steps taken", "steps"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("calories_from_carbs_kcal", F, "Calories from carbohydrates", "kcal"),
    C("calories_from_fat_kcal", F, "Calories from fat", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    *hr_zone_columns("HeartRateZones / performanceSummary.heartRateZones, minutes in the API"),
    C("finish_hr_bpm", F, "Heart rate at the end of the exercise", "bpm"),
    C("recovery_hr_1min_bpm", F, "Heart rate one minute after the exercise", "bpm"),
    C("recovery_hr_2min_bpm", F, "Heart rate two minutes after the exercise", "bpm"),
    C("recovery_time_s", F, "Recommended recovery time", "s"),
    C("training_effect", F, "Training effect score (float32 in the API: kept at its precision, 2.1 not "
      "2.0999999046325684)"),
    C("vo2max_ml_kg_min", F, "Maximal oxygen uptake (MaximalVO2; ml/kg/min assumed, the usual unit; 0 where not "
      "worked out)", "ml/kg/min"),
    C("stress_balance", F, "StressBalance score as sent (50 in every real payload)"),
    C("uv_exposure_s", F, "Time in UV light (UvExposure, minutes; public uvExposure, an ISO 8601 duration)", "s"),
    C("cardio_s", F, "Cardio activity (CardioScore, seconds)", "s"),
    C("intense_cardio_s", F, "Intense cardio activity (IntenseCardioSeconds)", "s"),
    C("gps_state", S, "GPSState as sent (bike rides, hikes)"),
    C("low_power_gps", B, "Hikes: GPS in low-power mode (IsLowPowerGPS)"),
    C("split_group_size", I, "Bike rides: SplitGroupSize as sent", "count"),
    C("workout_plan_id", S, "Guided workouts: the workout plan followed (WorkoutPlanId / workoutPlanId)"),
    C("workout_index", I, "Guided workouts: the workout's place in its plan (WorkoutIndex)"),
    C("workout_day", I, "Guided workouts: the plan's day (WorkoutDayId)"),
    C("workout_week", I, "Guided workouts: the plan's week (WorkoutWeekId)"),
    C("rounds", I, "Guided workouts: complete circuit rounds performed (RoundsPerformed)", "count"),
    C("repetitions", I, "Guided workouts: exercise repetitions performed (RepetitionsPerformed)", "count"),
    C("cycles", I, "Guided workouts: cycles performed (CyclesPerformed)", "count"),
    C("completion_type", S, "Guided workouts: how completion is measured (CompletionType)"),
    C("completion_value", F, "Guided workouts: completion in that measure (CompletionValue)"),
    C("display_subtype", S, "Guided workouts: KDisplaySubType as sent"),
    C("golf_course_id", S, "Golf: the course (CourseID)"),
    C("golf_course_name", S, "Golf: the course's name (CourseName)"),
    C("golf_course_par", I, "Golf: the course's par (CoursePar)", "strokes"),
    C("golf_tee", S, "Golf: the tee played from (TeeNameSelected)"),
    C("golf_holes_played", I, "Golf: holes played (TotalHolesPlayed; private API only)", "count"),
    C("golf_score", I, "Golf: strokes over the holes played (TotalScore; private API only)", "strokes"),
    C("golf_par", I, "Golf: par of the holes played (ParForHolesPlayed; private API only)", "strokes"),
    C("golf_par_or_better_holes", I, "Golf: holes scored at par or better (ParOrBetterCount)", "count"),
    C("golf_longest_drive_m", F, "Golf: longest drive (LongestDriveInCm; public longestDriveDistance, cm)", "m"),
    C("golf_longest_stroke_m", F, "Golf: longest stroke (public longestStrokeDistance, cm)", "m"),
    C("golf_pace_of_play_s", F, "Golf: pace of play (PaceOfPlayInSeconds)", "s"),
    C("climb_rate_m_per_h", F, "Hikes: climb rate (ClimbRateInCMPerHour)", "m/h"),
    C("climb_rate_max_m_per_h", F, "Hikes: highest climb rate (MaxClimbRateInCMPerHour)", "m/h"),
    C("ascent_rate_m_per_h", F, "Hikes: ascent rate (AscentRateInCMPerHour)", "m/h"),
    C("ascent_rate_max_m_per_h", F, "Hikes: highest ascent rate (MaxAscentRateInCMPerHour)", "m/h"),
    C("descent_rate_m_per_h", F, "Hikes: descent rate (DescentRateInCMPerHour)", "m/h"),
    C("descent_rate_max_m_per_h", F, "Hikes: highest descent rate (MaxDescentRateInCMPerHour)", "m/h"),
    C("resting_s", F, "Hikes: time resting (RestingTimeInSeconds)", "s"),
    C("active_s", F, "Hikes: time moving (ActiveTimeInSeconds)", "s"),
    C("elevation_source", S, "Hikes: where the points' elevations come from (MapPointElevationSource)"),
    C("fall_asleep_time", UTC_TIME, "Sleep: when the wearer fell asleep (UTC; public: to the µs of start_time + "
                                     "fallAsleepDuration where that is the time written to the ms)"),
    C("wake_up_time", UTC_TIME, "Sleep: when the wearer woke up (UTC)"),
    C("sleep_s", F, "Sleep: time asleep (SleepTime)", "s"),
    C("awake_s", F, "Sleep: time awake (AwakeTime)", "s"),
    C("time_to_fall_asleep_s", F, "Sleep: time to fall asleep", "s"),
    C("restful_sleep_s", F, "Sleep: total restful sleep", "s"),
    C("restless_sleep_s", F, "Sleep: total restless sleep", "s"),
    C("wakeups", I, "Sleep: number of wake-ups", "count"),
    C("resting_hr_bpm", F, "Sleep: resting heart rate", "bpm"),
    C("sleep_efficiency_pct", F, "Sleep: efficiency", "%"),
    C("sleep_recovery_index", F, "Sleep: SleepRecoveryIndex as sent"),
    C("sleep_restoration_message", S, "Sleep: the app's note on how restoring the night was (SleepRestorationMsg)"),
    C("auto_detected", B, "Sleep: detected automatically rather than started by the wearer"),
    local_time="`start_time` + `utc_offset_s` for rows of the public API (its ISO offsets); the private API sends "
    "UTC times without an offset (one written at another offset keeps it), its local day being `day_id`",
)

BAND_SEQUENCES = table(
    "band_sequences",
    "Segments of a Band event: sleep stages, run splits, workout parts, golf holes (Sequences / activitySegments). "
    "A run's splits depend on the split length the request asked for: the same run fetched in kilometres and in "
    "miles has two sets, each a set of records of its own (`split_length_m`).",
    ("event_id", "split_length_m", "sequence_id"),
    C("event_id", S, "Event the segment belongs to"),
    C("sequence_id", S, "Segment id (SequenceId / segmentId)"),
    C("sequence_order", I, "1-based position in the event (Order; public: the place in activitySegments)"),
    C("sequence_type", S, "SequenceType: Sleep, Awake, Dozing, Snoozing, NotWorn, Running, Workout, GolfHole…"),
    C("sleep_type", S, "Sleep segments: RestfulSleep, RestlessSleep, UndifferentiatedSleep"),
    C("day_id", D, "Sleep segments: the local day of the sleep (DayId / dayId)"),
    C("start_time", UTC_TIME, "Start of the segment (UTC; public: to the µs its segmentId's ticks name)"),
    C("utc_offset_s", I, PUBLIC_OFFSET.format(time="the segment's startTime"), "s"),
    C("duration_s", F, "Duration of the segment", "s"),
    C("paused_s", F, "Time paused in the segment", "s"),
    C("sleep_s", F, "Sleep segments: time asleep (private SleepTime, seconds assumed; public sleepTime, minutes)",
      "s"),
    C("steps", I, "Steps taken in the segment (StepsTaken; golf holes: StepCount / stepCount)", "steps"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("calories_from_carbs_kcal", F, "Calories from carbohydrates", "kcal"),
    C("calories_from_fat_kcal", F, "Calories from fat", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    *hr_zone_columns("HeartRateZones / heartRateZones, minutes in the API"),
    C("hr_zone_classification", S, "HRZoneClassification as sent (null in every real payload)"),
    C("training_effect", F, "Training effect score of the segment (float32 in the API: kept at its precision)"),
    C("vo2max_ml_kg_min", F, "Maximal oxygen uptake (MaximalV02, sic; ml/kg/min assumed)", "ml/kg/min"),
    C("stress_balance", F, "StressBalance score as sent"),
    C("analysis_status", S, "Whether the service's analysis of the segment succeeded (AnalysisStatus)"),
    C("split_distance_m", F, "Run/bike splits: distance in this split (SplitDistance; public distanceSummary."
      "totalDistance); golf holes: distance walked", "m"),
    C("total_distance_m", F, "Run/bike splits: cumulative distance (TotalDistance)", "m"),
    C("split_pace_s_per_km", F, "Run splits: pace in this split (SplitPace; public distanceSummary.pace)", "s/km"),
    C("split_speed_m_s", F, "Bike splits: speed in this split (SplitSpeed; public distanceSummary.speed, cm/s)",
      "m/s"),
    C("split_length_m", F, "Length of the splits the event was cut into, 1000 m or 1609.34 m (private: the event's "
      "SplitDistance, the selectedSplitDistance asked for; public: splitDistance, repeated on each segment, else the "
      "activity's); null for events without splits. Part of the key: a run asked in kilometres and in miles has a "
      "set of splits for each; its band_events row names the newest capture's. Null in an OUT an older databack "
      "wrote for private splits, whose rows stay records apart from those of files added since: `convert --force` "
      "converts them again", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot in the segment", "m"),
    C("actual_distance_m", F, "Cumulative distance to the end of the segment, including what was covered while "
      "paused (ActualDistance; public: the running sum of the segments' distanceSummary.actualDistance, each the "
      "segment's own)", "m"),
    C("overall_pace_s_per_km", F, "Total distance to the end of this split over total time to it (OverallPace)",
      "s/km"),
    C("altitude_gain_m", F, "Altitude gained in the segment", "m"),
    C("altitude_loss_m", F, "Altitude lost in the segment", "m"),
    C("max_altitude_m", F, "Highest altitude in the segment", "m"),
    C("min_altitude_m", F, "Lowest altitude in the segment", "m"),
    C("waypoint_distance_m", F, "Distance between recorded GPS points (waypointDistance)", "m"),
    C("climb_rate_m_per_h", F, "Hike waypoints: climb rate (ClimbRateInCMPerHour)", "m/h"),
    C("poi_type", S, "Hike waypoints: the kind of point of interest (POIType)"),
    C("user_poi_ordinal", I, "Hike waypoints: the wearer's own number for the point (UserPOIOrdinal)"),
    C("circuit_ordinal", I, "Guided workouts: the circuit's place in the workout (circuitOrdinal)"),
    C("circuit_type", I, "Guided workouts: the circuit's type (circuitType)"),
    C("golf_hole", I, "Golf holes: the hole's number on the course (HoleNumber / holeNumber)"),
    C("golf_hole_par", I, "Golf holes: par (HolePar)", "strokes"),
    C("golf_hole_score", I, "Golf holes: the wearer's strokes (UserScore)", "strokes"),
    C("golf_hole_difficulty", I, "Golf holes: difficulty index (HoleDifficultyIndex)"),
    C("golf_distance_to_pin_m", F, "Golf holes: distance to the pin (DistanceToPinInCm)", "m"),
    C("location_blob", S, "LocationBlob as sent (a GUID; all zeros in every real payload)"),
    local_time="`start_time` + `utc_offset_s` for public segments; private segments are UTC without an offset "
    "(one written at another offset keeps it; their event's `day_id` is its local day)",
)

BAND_MINUTES = table(
    "band_minutes",
    "Minute-by-minute readings inside a Band event (Info; public minuteSummaries).",
    ("event_id", "time"),
    C("event_id", S, "Event the minute belongs to"),
    C("time", UTC_TIME, "Start of the minute (UTC)"),
    C("utc_offset_s", I, PUBLIC_OFFSET.format(time="startTime"), "s"),
    C("day_id", D, "The local day the minute is filed under (public parentDay)"),
    C("transit_day", B, "The wearer changed time zones during the period (public isTransitDay)"),
    C("steps", I, "Steps taken", "steps"),
    C("calories_kcal", F, "Calories burned", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("distance_m", F, "Distance covered (TotalDistance, a string of cm in the private API)", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot", "m"),
    *distance_columns("in the minute"),
    C("floors_climbed", I, "Floors climbed", "count"),
    C("active_hours", I, "Active hours the public API counts in the period (activeHours)", "h"),
    C("uv_exposure_s", F, "Time in UV light in the minute (UvExposure, minutes; public uvExposure, a duration)", "s"),
    C("activity_level", S, "ActivityLevel as reported (e.g. Inactive)"),
    C("day_classification", S, "DayClassification as reported (None in every real payload)"),
    C("itcal", F, "ItCal as the private API sent it (undocumented; 0 in every real payload)"),
    local_time="`time` + `utc_offset_s` for public minutes (and `day_id`, their local day); private minutes are UTC "
    "without an offset (one written at another offset keeps it)",
)

BAND_MAP_POINTS = table(
    "band_map_points",
    "GPS track points of Band runs, rides and hikes (MapPoints). The track is numbered with the Split points of the "
    "split length the request asked for among its WayPoints: the same run fetched in kilometres and in miles has "
    "two tracks, each a set of records of its own (`split_length_m`).",
    ("event_id", "split_length_m", "ordinal"),
    C("event_id", S, "Event the point belongs to"),
    C("ordinal", I, "0-based position in the track (MapPointOrdinal)"),
    C("time", UTC_TIME, "Event start + seconds since start (UTC)"),
    C("utc_offset_s", I, "The UTC offset of the event's start time (null for +00:00 as in band_events: the "
      "private API writes UTC)", "s"),
    C("seconds_since_start", F, "Time since the event started", "s"),
    C("point_type", S, "MapPointType: Start, WayPoint, Split, End"),
    C("latitude_deg", F, "Latitude (null without a GPS fix)", "deg"),
    C("longitude_deg", F, "Longitude (null without a GPS fix)", "deg"),
    C("altitude_m", F, "Altitude above mean sea level", "m"),
    C("horizontal_error_m", F, "Estimated horizontal position error (EHPE)", "m"),
    C("vertical_error_m", F, "Estimated vertical position error (EVPE)", "m"),
    C("speed_over_ground_m_s", F, "Speed over ground from the GPS fix (SpeedOverGround, m/s x 100)", "m/s"),
    C("heart_rate_bpm", F, "Heart rate", "bpm"),
    C("distance_m", F, "Cumulative distance from the start (TotalDistance)", "m"),
    C("actual_distance_m", F, "Cumulative distance without what was covered while paused, the distance splits are "
      "counted on (ActualDistance)", "m"),
    C("pace_s_per_km", F, "Pace", "s/km"),
    C("scaled_pace", I, "Pace scaled 0-100 between the route's slowest (0) and fastest (100) stretch (ScaledPace)"),
    C("speed_m_s", F, "Speed", "m/s"),
    C("is_paused", B, "The event was paused at this point"),
    C("is_resume", B, "The first point after the event was resumed (IsResume)"),
    C("split_ordinal", I, "Split points: the 0-based number of the split the point ends (SplitOrdinal); null on "
      "other points, which do not carry it"),
    C("split_length_m", F, "Length of the splits whose Split points the track holds, 1000 m or 1609.34 m (the "
      "event's SplitDistance / splitDistance); part of the key, as `ordinal` counts the Split points before it. "
      "Null in an OUT an older databack wrote, whose rows stay records apart from those of files added since: "
      "`convert --force` converts them again", "m"),
    C("poi_type", S, "Hikes: the kind of point of interest (POIType)"),
    C("user_poi_ordinal", I, "Hikes: the wearer's own number for the point (UserPOIOrdinal)"),
    local_time="`time` + `utc_offset_s` for public activities; private points are UTC without an offset",
)

DEVICE_FILTER = ("The device(s) the request asked the totals of (private deviceId='…', public deviceIds=…, joined "
                 "by ','): that device's totals, another record than the account's; null for the whole account")

# Band summaries: from the private API (zeros are sent as 0) and the public one, which leaves out zero and unknown
# values alike; a value the API left out is null, never 0.
BAND_DAILY_SUMMARIES = table(
    "band_daily_summaries",
    "Microsoft Band daily totals: private /v2/UserDailySummary, public /v1/me/Summaries/Daily. The private API cuts "
    "days by the UTC offset the request gives (timeZoneUtcOffset): a date asked at another offset is the totals of "
    "other 24 hours (another `start_time`), a record of its own.",
    ("day", "device_filter", "utc_offset_s"),
    C("day", D, "Local calendar day of the totals: public parentDay if sent; a time written at midnight is that "
      "date; else the start instant shifted by the request's timeZoneUtcOffset (private), or by the offset the "
      "request's startTime or endTime is written at where the day starts at midnight there (public: the app asks "
      "from the wearer's local midnight), or the nearest midnight (right for UTC offsets within 12 h)"),
    C("device_filter", S, DEVICE_FILTER),
    C("api", S, "Which Band API the row came from: private (dns-cargo.com OData) or public (api.microsofthealth.net)"),
    C("start_time", UTC_TIME, "The day's timestamp as the API sent it (TimeOfDay / startTime), in UTC"),
    C("duration_s", F, "Length of the day the totals cover: public endTime - startTime (the next local midnight: 23 "
      "or 25 hours on a day the clocks change); private 86,400 (the service cuts days at the request's "
      "timeZoneUtcOffset, a fixed offset)", "s"),
    C("utc_offset_s", I, "The wearer's UTC offset for the day: private, the request's timeZoneUtcOffset (the offset "
      "the service cut days by); public, local midnight (parentDay, else `day`) minus `start_time`, since the "
      "service writes daily starts in UTC", "s"),
    C("transit_day", B, "The wearer changed time zones during the day (public isTransitDay)"),
    C("steps", I, "Steps taken (null when the API left it out)", "steps"),
    C("calories_kcal", F, "Calories burned (public: null when totalCalories is left out)", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate (null when left out)", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("distance_m", F, "Distance covered (TotalDistance / totalDistance, cm in the API)", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot", "m"),
    *distance_columns("over the day"),
    C("floors_climbed", I, "Floors climbed (private API only)", "count"),
    C("active_hours", I, "Hours with activity (NumberOfActiveHours / activeHours)", "h"),
    C("uv_exposure_s", F, "Time in UV light (private UvExposure in minutes; public ISO 8601 duration)", "s"),
    C("cardio_s", F, "Cardio activity (CardioScore, seconds: the app shows it /60 as cardio minutes)", "s"),
    C("intense_cardio_s", F, "Intense cardio activity (IntenseCardioSeconds)", "s"),
    *hr_zone_columns("DailyHeartRateZones / heartRateZones, minutes in the API"),
    C("activity_level", S, "ActivityLevel as reported (private API)"),
    C("day_classification", S, "DayClassification as reported (private API)"),
    C("itcal", F, "ItCal as the private API sent it (undocumented)"),
    C("source_devices", S, "What the day's data came from (SourceDevices, private API): per sensor, "
      "`SensorType:SourceType/DeviceMetadataHint=DeviceId+DeviceId`, joined by ','"),
    local_time="`day` is the local day; `start_time` + `utc_offset_s` is its local midnight",
)

BAND_HOURLY_SUMMARIES = table(
    "band_hourly_summaries",
    "Microsoft Band hourly totals: private /v2/UserHourlySummary and /v1/UserActivities, public "
    "/v1/me/Summaries/Hourly.",
    ("time", "device_filter"),
    C("time", UTC_TIME, "Start of the hour (UTC; TimeOfDay / startTime, whose offset is applied)"),
    C("device_filter", S, DEVICE_FILTER),
    C("api", S, "Which Band API the row came from: private (dns-cargo.com OData) or public (api.microsofthealth.net)"),
    C("utc_offset_s", I, "Public: the offset startTime was written with (the one the request asked in); private: the "
      "offset of the datetimeoffset bounds in the request's $filter, the local day the app asked for, when they name "
      "one, else the offset TimeOfDay was written with (null for UTC)", "s"),
    C("day_id", D, "The local day the hour is filed under (public parentDay)"),
    C("transit_day", B, "The wearer changed time zones during the hour (public isTransitDay)"),
    C("steps", I, "Steps taken (null when the API left it out)", "steps"),
    C("calories_kcal", F, "Calories burned (public: null when totalCalories is left out)", "kcal"),
    C("hr_avg_bpm", F, "Average heart rate (null when left out)", "bpm"),
    C("hr_peak_bpm", F, "Peak heart rate", "bpm"),
    C("hr_low_bpm", F, "Lowest heart rate", "bpm"),
    C("distance_m", F, "Distance covered (TotalDistance, a string of cm in the private API)", "m"),
    C("distance_on_foot_m", F, "Distance covered on foot", "m"),
    *distance_columns("in the hour"),
    C("floors_climbed", I, "Floors climbed (private API only)", "count"),
    C("active_hours", I, "Active hours the public API counts in this hour (activeHours)", "h"),
    C("uv_exposure_s", F, "Time in UV light (private UvExposure in minutes; public ISO 8601 duration)", "s"),
    C("activity_level", S, "ActivityLevel as reported (private API, e.g. Inactive)"),
    C("day_classification", S, "DayClassification as reported (private API)"),
    C("itcal", F, "ItCal as the private API sent it (undocumented)"),
    local_time="`time` + `utc_offset_s` where the source names an offset (see it); `day_id` for public hours",
)

BAND_DEVICES = table(
    "band_devices",
    "Devices linked to the Microsoft Health account (public /v1/me/Devices).",
    ("device_id",),
    C("device_id", S, "Device id"),
    C("display_name", S, "Name the user gave the device (null when empty)"),
    C("device_family", S, "Band, Windows, Android, IOS, Unknown"),
    C("model_name", S, "Model name"),
    C("manufacturer", S, "Manufacturer"),
    C("hardware_version", S, "Hardware version"),
    C("software_version", S, "Software version"),
    C("device_status", S, "Active, Inactive, Unknown"),
    C("last_successful_sync", UTC_TIME, "When the device last synced with the service (UTC)"),
    C("created_time", UTC_TIME, "When the device was first registered (UTC)"),
    local_time="none: the times are the service's bookkeeping, in UTC",
)

BAND_INSIGHTS = table(
    "band_insights",
    "Insights the Microsoft Health service raised for the wearer (private GET /v1/RaisedInsights(DataUsed=…,"
    "Timespan=…,Scope=…)): one row per raised insight, the newest capture's state (expired, acknowledged) winning. "
    "Shapes come from the Health apps' models; no real payload is known.",
    ("raised_insight_id",),
    C("raised_insight_id", S, "Id of this raising of the insight (RaisedInsightId)"),
    C("insight_id", S, "The insight it raises (InsightId: a number on Android, a string on Windows), as text"),
    C("effective_time", UTC_TIME, "When the insight took effect (EffectiveDT, UTC)"),
    C("utc_offset_s", I, "The offset EffectiveDT was written with", "s"),
    C("expiration_time", UTC_TIME, "When the insight expires (ExpirationDT, UTC)"),
    C("expired", B, "The service marked it expired (Expired)"),
    C("acknowledged", B, "The wearer acknowledged it (Acknowledged)"),
    C("message", S, "The insight as the app showed it (IM_Msg)"),
    C("help", S, "Its explanation (IM_Help)"),
    C("action_message", S, "What the app suggested doing (IM_Action_Msg)"),
    C("band_line1", S, "First line shown on the Band (DeviceLine1_Msg)"),
    C("band_line1_help", S, "Help for the first line (DeviceLine1_Help)"),
    C("band_line2", S, "Second line shown on the Band (DeviceLine2_Msg)"),
    C("band_line2_help", S, "Help for the second line (DeviceLine2_Help)"),
    C("data_used", S, "What the insight is about (DataUsedPivot: steps, calories…), joined by ','"),
    C("category", S, "Categories (CategoryPivot), joined by ','"),
    C("comparison", S, "ComparisonPivot as sent"),
    C("timespan", S, "TimespanPivot as sent (the apps ask for Day or Week)"),
    C("tone", S, "TonePivot as sent"),
    C("scope", S, "ScopePivot as sent (the apps ask for Global)"),
    C("noteworthy", S, "NoteworthyPivot as sent (a string on Android, true/false on Windows)"),
    local_time="`effective_time` + `utc_offset_s` (EffectiveDT is written with an offset)",
)

SENSE_NIGHTS = table(
    "sense_nights",
    "One row per Hello Sense night (timeline).",
    ("night",),
    C("night", D, "The night, by its evening's date"),
    C("score", I, "Sleep score, 0-100", "score"),
    C("score_condition", S, "IDEAL, WARNING, ALERT, UNAVAILABLE, INCOMPLETE, NO_DATA"),
    C("message", S, "Summary shown in the app (Markdown)"),
    C("api_version", I, "Timeline API version the night came from: 1 or 2"),
    C("sleep_periods", S, "v2: the parts of the day slept in (sleep_periods: MORNING, AFTERNOON, NIGHT), joined by "
      "',' (sent from April 2017)"),
    C("locked_down", B, "v2: the night can no longer be edited (locked_down, sent from April 2017)"),
    group="night",
    local_time="`night` is the local date of the night's evening",
)

SENSE_TIMELINE_EVENTS = table(
    "sense_timeline_events",
    "Events and sleep-depth segments of a Sense night.",
    ("night", "time", "event_type"),
    C("night", D, "The night the event belongs to"),
    C("time", UTC_TIME, "When the event starts (UTC)"),
    C("utc_offset_s", I, "The wearer's UTC offset at that time", "s"),
    C("duration_s", F, "Duration", "s"),
    C("event_type", S, "v2 event type; v1 names mapped as Hello's later server did (suripu-core timeline/v2 "
      "TimelineEvent.from: SLEEP->FELL_ASLEEP, plain segments (\"\"/null/NONE/SLEEPING)->IN_BED, unknown->UNKNOWN)"),
    C("event_type_raw", S, "Event type as sent (v1 names for v1 timelines; null/empty kept)"),
    C("sleep_depth", I, "Sleep depth, 0-100", "score"),
    C("sleep_state", S, "AWAKE, LIGHT, MEDIUM, SOUND: v2 as sent; v1 from sleep_depth as the v1 app drew every "
      "segment (hello/suripu-android Styles.getSleepDepthColorRes: 0 or less awake, 100 sound, below 60 light, else "
      "medium; the early-2015 iOS app drew light below 70), not the later server's mapping, which showed plain v1 "
      "segments awake"),
    C("message", S, "Text shown in the app (Markdown)"),
    C("segment_id", I, "v1: the segment's id (id)"),
    C("sleep_period", S, "v2: the part of the day the event is in (sleep_period: MORNING, AFTERNOON, NIGHT)"),
    C("valid_actions", S, "v2: what the app let the wearer do with the event (valid_actions: ADJUST_TIME, VERIFY, "
      "INCORRECT, REMOVE), joined by ','"),
    C("sound_duration_s", F, "v1: length of the sound clip recorded with the event (sound.duration_millis)", "s"),
    C("sound_empty", B, "v1: the recorded sound clip is empty (sound.is_empty)"),
    group="night",
    local_time="`time` + `utc_offset_s` (the wearer's offset sent with every event)",
)

SENSE_NIGHT_METRICS = table(
    "sense_night_metrics",
    "Per-night statistics and room conditions of a Sense timeline (v2 metrics, v1 statistics and insights).",
    ("night", "name"),
    C("night", D, "The night"),
    C("name", S, "total_sleep, sound_sleep, time_to_sleep, times_awake, fell_asleep, woke_up, temperature…"),
    C("value", F, "Value in `unit` (durations converted from minutes to seconds)"),
    C("unit", S, "s, count, or null for timestamps and conditions; a v2 unit not known here (another than MINUTES, "
                 "QUANTITY, TIMESTAMP) in lower case as sent, its value as sent"),
    C("time", UTC_TIME, "For timestamp metrics (fell_asleep, woke_up): the time (UTC)"),
    C("condition", S, "IDEAL, WARNING, ALERT, UNKNOWN, …"),
    C("message", S, "v1 insights: the text shown (Markdown)"),
    group="night",
    local_time="`night` is a local date; `time` is UTC (the night's events in sense_timeline_events carry the "
    "offset)",
)

SENSE_ROOM_READINGS = table(
    "sense_room_readings",
    "Current room conditions reported by Sense (room/current, GET /v2/sensors).",
    ("sensor", "time"),
    C("time", UTC_TIME, "When the reading was taken (v1: last_updated_utc; v2: when the request was sent, the time "
      "a HAR and a flow of the same traffic both record; v1 timeline segments: the segment's start)"),
    C("sensor", S, "temperature, humidity, light, sound, particulates, co2, tvoc, uv, pressure…"),
    C("value", F, "Reading in `unit` (temperatures in Celsius)"),
    C("unit", S, "As sent, lower case: celsius (c, celcius; Fahrenheit converted), percent (%), lux, db, aqi (v1 "
      "particulates: an AQI on early servers, a density in µg/m³ on later ones, which kept the name; suripu-core "
      "CurrentRoomState), ppm, mg_cm (v2 particulates and VOCs: Hello's name for µg/m³, suripu-app SensorUnit), count "
      "(UV index), millibar…"),
    C("condition", S, "IDEAL, WARNING, ALERT, UNKNOWN, …"),
    C("message", S, "Text shown in the app (Markdown)"),
    C("ideal_conditions", S, "v1: the advice shown with the reading (ideal_conditions, Markdown)"),
    C("sensor_name", S, "v2: the sensor's name as the app showed it (name, e.g. Noise, Barometric Pressure)"),
    local_time="none: v1 last_updated_utc and v2 capture times are UTC, and the room's offset is not sent with them "
    "(sense_sensor_samples has it)",
)

SENSE_SENSOR_SAMPLES = table(
    "sense_sensor_samples",
    "Room sensor history: one row per sensor, API version and time bucket. A v1 and a v2 history of the same bucket "
    "are two records: Hello's servers computed them apart (v2 sound is the peak energy where the Sense sent one, v1 "
    "particulates were an AQI on early servers).",
    ("sensor", "api_version", "resolution_s", "time"),
    C("time", UTC_TIME, "Start of the time bucket (UTC)"),
    C("utc_offset_s", I, "The room's UTC offset at that time", "s"),
    C("sensor", S, "temperature, humidity, light, sound, particulates, co2, tvoc, uv, pressure…"),
    C("value", F, "Reading in `unit`; null for a gap: -1 (v1 and v2), and in a v1 all-sensors history a bucket in "
      "which every sensor (two or more) reads exactly 0 (the server's default for a missing bucket). A lone 0 is kept: "
      "0 lux is a dark room, and a single-sensor v1 history cannot tell its 0s from readings"),
    C("unit", S, "The unit of `value`, which histories do not send, as sense_room_readings names it: v2 the unit GET "
      "/v2/sensors gives the sensor (celsius, percent, lux, db, mg_cm for particulates and VOCs: Hello's name for "
      "µg/m³, ppm for CO2, count for UV, millibar; hello/suripu SensorViewFactory); v1 the v1 API's (celsius, percent, "
      "lux, db, and aqi for particulates: an AQI on early servers, a density in µg/m³ on later ones, which kept the "
      "name, suripu-core CurrentRoomState and Bucketing); null for a sensor of no known unit"),
    C("api_version", I, "Sensor history API version: 1 (GET room/all_sensors/…, room/{sensor}/…) or 2 (POST "
      "/v2/sensors); null in an OUT an older databack wrote, whose rows stay records apart from those of files "
      "added since: `convert --force` converts them again"),
    C("resolution_s", I, "Width of the time bucket", "s"),
    local_time="`time` + `utc_offset_s` (the room's offset sent with every bucket)",
)

SENSE_SENSOR_SCALES = table(
    "sense_sensor_scales",
    "The ranges the Sense app graded each room reading by (GET /v2/sensors `scale`): one row per sensor, unit and "
    "range, the newest capture's winning.",
    ("sensor", "unit", "position"),
    C("sensor", S, "temperature, humidity, light, sound, particulates, co2, tvoc, uv, pressure… (the sensor's type)"),
    C("unit", S, "The unit the bounds are in, as the readings' (`unit` of sense_room_readings)"),
    C("position", I, "0-based place of the range in the scale"),
    C("name", S, "The range's name as the app showed it (e.g. Cold, Ideal, Somewhat noisy)"),
    C("min_value", F, "Lower bound, in `unit` (null: open below; Fahrenheit converted)"),
    C("max_value", F, "Upper bound, in `unit` (null: open above; Fahrenheit converted)"),
    C("condition", S, "The condition a reading in this range has: IDEAL, WARNING, ALERT"),
    local_time="none: a scale has no time",
)

SENSE_TRENDS = table(
    "sense_trends",
    "Sense trend graphs (GET /v2/trends/{LAST_WEEK,LAST_MONTH,LAST_3_MONTHS}, v1 /insights/trends/…): one row per "
    "value, padding included. A value with a date (v1 time series) is that day's record in every capture; values "
    "without one (v2 graphs, v1 day-of-week histograms) are the view of the days before the capture, so each graph "
    "is kept once per capture day, the newest capture of that day replacing the older ones whole.",
    ("trend_set", "section", "position"),
    C("trend_set", S, "The set a newer capture replaces whole: `v{api}/{time_scale}/{data_type}/{graph_type}/{day}`, "
      "day being `date` for dated v1 points, else `snapshot_day` (`-` when unknown)"),
    C("api_version", I, "Trends API version: 1 or 2"),
    C("time_scale", S, "v2: LAST_WEEK, LAST_MONTH, LAST_3_MONTHS; v1: the time_period (DOW, 1W, 2W, 1M, 3M, ALL)"),
    C("data_type", S, "v2: SCORES, HOURS, PERCENTS; v1: SLEEP_SCORE, SLEEP_DURATION"),
    C("graph_type", S, "v2: GRID, OVERVIEW, BAR, BUBBLES; v1: TIME_SERIES_LINE, HISTOGRAM"),
    C("title", S, "Title of the graph"),
    C("snapshot_day", D, "For values without a date: the day (UTC) of the capture that showed them; null for dated "
      "v1 points and for responses saved without a capture time"),
    C("section", I, "0-based section of the graph (v2: e.g. a week row or a month; v1: always 0)"),
    C("section_title", S, "v2: the section's titles when they are not one per value (e.g. a month name), "
      "joined by ', '"),
    C("position", I, "0-based place of the value in its section (v1: in data_points; a dated v1 point, its place "
      "among the graph's points of its day, 0 but for a second point of one day: the day is its set, and the place "
      "a sliding window gave it in one capture is no part of the record)"),
    C("label", S, "The value's own label: v1 x_value (MO, TU… in day-of-week histograms); v2 the section title at "
      "the same place when the section has one title per value"),
    C("highlighted", B, "v2: the value is one of the section's highlighted_values; v1: null"),
    C("date", D, "The wearer's local day the value stands for. v1 time series: the point's day (the server stamps "
      "days as UTC midnights: that date; other stamps: the local date). v2 scores and durations: one value per day "
      "from `today` minus 7/30/90 days, in order, `today` being the capture's UTC date or a day either side, taken "
      "only when exactly one of them fits the layout's own marks (grid columns from Sunday, days of month, month "
      "titles, day names; suripu-core trends/v2/TrendsProcessorUtils); else null, as for v2 sleep-depth shares and "
      "v1 day-of-week histograms"),
    C("time", UTC_TIME, "v1 time series: the point's datetime as sent (UTC); null when sent as 0"),
    C("utc_offset_s", I, "v1 time series: the offset sent with the point", "s"),
    C("value", F, "Value in `unit`: scores 0-100, durations in seconds (v2 HOURS are whole minutes / 60 written as "
      "float32: rounded back to whole minutes, x 60; v1 SLEEP_DURATION minutes x 60), percents as 0-1 fractions; null "
      "for padding (null) and days without data (-1). v1 day-of-week histograms send 0 for weekdays without nights: "
      "kept as sent"),
    C("unit", S, "score, s or fraction (null for an unknown data_type, value as sent)"),
    C("missing", S, "Why `value` is null: padding (sent as null) or no_data (sent as -1)"),
    C("condition", S, "v1: the point's data_label (BAD, OK, GOOD); v2: null"),
    C("options", S, "v1: the time periods the app could show the graph over (options: 1W, 2W, 1M, 3M, ALL), joined "
      "by ','"),
    group="trend_set",
    local_time="`date` is a local date; v1 `time` + `utc_offset_s`",
)

SENSE_INSIGHTS = table(
    "sense_insights",
    "Insight cards shown in the Sense app (GET /v1/insights, /v2/insights); the account id is left out. A card is "
    "its time, category and title: cards made at one moment are others (2014 cards, of no category, the same "
    "second), and one card given through v1 (no id) and v2 is one.",
    ("time", "category", "title"),
    C("time", UTC_TIME, "When the insight was created (timestamp; 2014 cards: created_utc), UTC"),
    C("category", S, "GENERIC, SLEEP_HYGIENE, LIGHT, SOUND, TEMPERATURE, HUMIDITY, AIR_QUALITY, SLEEP_DURATION, …; "
      "null for 2014 cards, which had none"),
    C("insight_id", S, "The card's id as text (id): v2 a UUID (may be null), 2014 cards a number, v1 none"),
    C("category_name", S, "v2: display name of the category"),
    C("title", S, "Title of the card"),
    C("message", S, "Text of the card (Markdown)"),
    C("info_preview", S, "Title of the linked article, if any"),
    C("insight_type", S, "v2: DEFAULT or BASIC; v1: null"),
    C("api_version", I, "Insights API version the card came from: 1 or 2"),
    local_time="none: `time` is UTC and no offset is sent",
)

SENSE_DEVICES = table(
    "sense_devices",
    "The account's Sense and Sleep Pill devices as GET /v2/devices reported them: one row per device and last "
    "contact, so battery and firmware history builds up over captures.",
    ("device_kind", "device_id", "last_updated"),
    C("device_kind", S, "sense or pill"),
    C("device_id", S, "Device id as sent"),
    C("last_updated", UTC_TIME, "When the service last heard from the device (UTC)"),
    C("firmware_version", S, "Firmware version as sent"),
    C("hw_version", S, "Hardware version as sent (e.g. SENSE, SENSE_WITH_VOICE)"),
    C("state", S, "NORMAL, LOW_BATTERY, UNKNOWN, …"),
    C("color", S, "Device colour as sent"),
    C("battery_pct", F, "Pills: battery level", "%"),
    C("battery_type", S, "Pills: battery type as sent"),
    C("wifi_rssi_dbm", F, "Senses: strength of the Wi-Fi signal (wifi_info.rssi)", "dBm"),
    C("wifi_condition", S, "Senses: the app's grade of the Wi-Fi signal (wifi_info.condition)"),
    C("wifi_last_updated", UTC_TIME, "Senses: when the service last heard of the Wi-Fi signal (wifi_info.last_updated, "
                                     "UTC)"),
    local_time="none: `last_updated` and `wifi_last_updated` are UTC",
)

SENSE_QUESTIONS = table(
    "sense_questions",
    "Questions the Sense app asked (GET /v1/questions?date=): one row per question asked, identified by the "
    "account's ask of it (account_question_id). The choices offered are in sense_question_choices.",
    ("account_question_id", "question_id"),
    C("account_question_id", I, "Id of this ask of the question to the account (answers and skips name it)"),
    C("question_id", I, "The question (id)"),
    C("ask_date", D, "The local day the question was asked for (ask_local_date, sent as that day's UTC midnight)"),
    C("ask_time", S, "MORNING, AFTERNOON, EVENING or ANYTIME (ask_time)"),
    C("question_type", S, "CHOICE (one answer), CHECKBOX (several), QUANTITY, DURATION, TIME, TEXT (type)"),
    C("text", S, "The question as shown"),
    local_time="`ask_date` is the local day",
)

SENSE_QUESTION_CHOICES = table(
    "sense_question_choices",
    "The answers a Sense question offered (the `choices` of GET /v1/questions): one row per question and choice.",
    ("question_id", "choice_id"),
    C("question_id", I, "The question (the id of the question that listed the choice)"),
    C("choice_id", I, "The choice (id); answers name it"),
    C("position", I, "0-based place of the choice in the list shown"),
    C("text", S, "The choice as shown"),
    local_time="none: a choice has no time",
)

SENSE_QUESTION_ANSWERS = table(
    "sense_question_answers",
    "What the user did with a Sense question: one row per choice picked (the request body the app sent with POST "
    "/v1/questions/save?account_question_id=) or per skip (PUT /v1/questions/skip?account_question_id=&id=). Only "
    "requests the service accepted (2xx) are kept; when the user answered is the capture time, `captured_at`.",
    ("account_question_id", "action", "choice_id"),
    C("account_question_id", I, "The ask of the question answered or skipped (account_question_id of the URL; null "
      "for a saved body without its URL)"),
    C("question_id", I, "The question (the choice's question_id, or the skip's id)"),
    C("action", S, "answered or skipped"),
    C("choice_id", I, "The choice picked (null for a skip)"),
    C("choice_text", S, "The choice's text as the app sent it (null for a skip)"),
    local_time="none: when the user answered is `captured_at` (UTC)",
)

SENSE_ALARMS = table(
    "sense_alarms",
    "The Sense alarms as the app read them (GET /v1/alarms, /v2/alarms) or saved them (the answer to POST "
    "/v1|v2/alarms/{client_time_utc}): one row per alarm of each alarm list. A list is the state at capture time; "
    "lists with the same content share one `alarm_set` fingerprint, so a list captured again appears once, with the "
    "provenance of its newest capture. Times of day are the Sense's local time (its zone is not in the payload). "
    "Sound URLs are left out (they are signed links).",
    ("alarm_set", "kind", "position"),
    C("alarm_set", S, "Fingerprint of the whole alarm list the row belongs to (16 hex digits of a SHA-256 of its "
      "decoded rows): the same alarms, in v1 or v2, give the same fingerprint"),
    C("kind", S, "classic, voice (set by voice) or expansion: the v2 group, or for v1 the alarm's source"),
    C("position", I, "0-based place of the alarm among those of its kind"),
    C("alarm_id", S, "The alarm's id as sent (a UUID from the app; null when empty)"),
    C("hour", I, "Hour of the ring time (local, 0-23)"),
    C("minute", I, "Minute of the ring time (local, 0-59)"),
    C("repeat_days", S, "Days it rings (day_of_week, Monday = 1) as MO,TU,WE,TH,FR,SA,SU; null for none"),
    C("repeated", B, "It rings every week on `repeat_days` (repeated)"),
    C("ring_date", D, "One-time alarms: the local day it rings (year, month, day_of_month); null for repeated ones"),
    C("enabled", B, "The alarm is on (enabled)"),
    C("smart", B, "Smart alarm: the Sense may ring earlier, in light sleep (smart)"),
    C("editable", B, "The app may change it (editable)"),
    C("sound_id", I, "Ringtone id (sound.id; null when not set)"),
    C("sound_name", S, "Ringtone name (sound.name)"),
    C("source", S, "Where the alarm was made: MOBILE_APP, VOICE_SERVICE, OTHER (source; null when not sent)"),
    C("expansions", S, "Expansions run with the alarm (e.g. lights), as id:on or id:off joined by ','"),
    local_time="`hour`, `minute` and `ring_date` are the Sense's local time; its zone is not in the payload",
)

REJECTS = Table(
    "rejects",
    "Device responses that could not be decoded, kept with the reason (credentials in them replaced by REDACTED).",
    (
        C("endpoint", S, "The databack endpoint the URL matched"),
        C("method", S, "HTTP method"),
        C("host", S, "Host"),
        C("path", S, "URL path as captured, credential segments and parameters as {redacted} (query left out)"),
        C("status", I, "HTTP status"),
        C("reason", S, "Why the response was rejected (e.g. the schema violation, naming the value at fault by its "
          "type)"),
        C("body", S, "The body that failed: the response's, or for endpoints that read what the app sent (answers "
          "to Sense questions) the request's; UTF-8 text, or base64 when not UTF-8; credential-named keys' values "
          "(at any depth, JSON inside strings too) and credential-shaped values replaced by REDACTED"),
        C("body_encoding", S, "utf-8 or base64"),
        *PROVENANCE,
    ),
    ("participant_id", "source_file", "source_entry"),
)

SLEEP_NIGHTS = table(
    "sleep_nights",
    "Derived view (converters/views/sleep_nights.py), made from the decoded tables by every run: one row per "
    "participant, device and night, Band and Sense alike (a second sleep the Band filed under the same day is a row "
    "of its own). A night's *stage segments* are, for Band, the sleep event's band_sequences (each from start_time "
    "for duration_s; Sleep with RestfulSleep is restful, any other Sleep restless, as the Band app drew them; Awake, "
    "Dozing and Snoozing are awake; NotWorn, Unknown and anything else unscored) and, for Sense, the night's "
    "sense_timeline_events (each from time for duration_s, null counting 0; sleep_state LIGHT, MEDIUM, SOUND and "
    "AWAKE are light, medium, sound and awake, null unscored). Segments are cut to the time in bed, and time two "
    "segments overlap counts once, in the earlier one; restful, "
    "restless, light, medium and sound count as asleep. Each value below says its rule; the `device_` columns are "
    "the device's own figures, as it reported them.",
    ("device", "source_id"),
    C("device", S, "band or sense"),
    C("night", D, "The date the night is filed under, as each app did: Band DayId (day_id), Sense timeline date; "
      "a Band event without a DayId: the local date of its start less 5 hours, as the API's dayId (UTC where the "
      "offset is unknown)"),
    C("source_id", S, "Key of the record the night comes from: band_events.event_id (Band), sense_nights.night as "
      "YYYY-MM-DD (Sense)"),
    C("is_main_sleep", B, "The longest time in bed of the participant's nights of this device filed under this date "
      "(ties: the earliest)"),
    C("in_bed_time", UTC_TIME, "Band: the event's start_time; Sense: the first GOT_IN_BED event, else the start of "
      "the first segment (UTC)"),
    C("sleep_onset_time", UTC_TIME, "Start of the first segment scored asleep (UTC)"),
    C("wake_time", UTC_TIME, "End of the last segment scored asleep (UTC)"),
    C("out_of_bed_time", UTC_TIME, "Band: end of the last segment, else start_time + duration_s + paused_s; Sense: "
      "the last GOT_OUT_OF_BED event, else the last WOKE_UP event (the v1 app's sleep ends there), else the end of "
      "the last segment (UTC); never before in_bed_time"),
    C("utc_offset_s", I, "The wearer's UTC offset: Sense, that of the night's first segment; Band, the event's "
      "(band_events.utc_offset_s: public API only)", "s"),
    C("time_in_bed_s", F, "out_of_bed_time - in_bed_time", "s"),
    C("total_sleep_s", F, "Sum of the segments scored asleep", "s"),
    C("sleep_latency_s", F, "sleep_onset_time - in_bed_time", "s"),
    C("waso_s", F, "Wake after sleep onset: sum of the awake segments between sleep_onset_time and wake_time", "s"),
    C("awakenings", I, "Awake segments between sleep_onset_time and wake_time that follow a segment scored asleep "
      "(unscored segments between them ignored): consecutive awake segments are one awakening", "count"),
    C("sleep_efficiency_pct", F, "100 x total_sleep_s / time_in_bed_s", "%"),
    C("restful_s", F, "Band: sum of the restful segments", "s"),
    C("restless_s", F, "Band: sum of the restless segments", "s"),
    C("light_s", F, "Sense: sum of the light segments", "s"),
    C("medium_s", F, "Sense: sum of the medium segments", "s"),
    C("sound_s", F, "Sense: sum of the sound segments", "s"),
    C("awake_s", F, "Sum of the awake segments, in bed before sleep onset and after waking included", "s"),
    C("unscored_s", F, "Sum of the unscored segments (Band NotWorn and Unknown, Sense without a sleep_state)", "s"),
    C("segments", I, "Stage segments of the night (0: none were captured, and every value made from them is null)",
      "count"),
    C("sleep_hr_avg_bpm", F, "Band: mean of hr_avg_bpm over the event's band_minutes from sleep_onset_time to "
      "wake_time that have a reading (the Band sends 0 for a minute it measured none in)", "bpm"),
    C("sleep_hr_lowest_bpm", F, "Band: lowest hr_avg_bpm of those minutes", "bpm"),
    C("device_total_sleep_s", F, "The device's figure: Band SleepTime (band_events.sleep_s), Sense total_sleep "
      "(sense_night_metrics)", "s"),
    C("device_sleep_latency_s", F, "The device's figure: Band TimeToFallAsleep, Sense time_to_sleep", "s"),
    C("device_sleep_onset_time", UTC_TIME, "The device's figure: Band FallAsleepTime, Sense fell_asleep (v2)"),
    C("device_wake_time", UTC_TIME, "The device's figure: Band WakeUpTime, Sense woke_up (v2)"),
    C("device_awake_s", F, "The device's figure: Band AwakeTime", "s"),
    C("device_awakenings", I, "The device's figure: Band NumberOfWakeups, Sense times_awake", "count"),
    C("device_sleep_efficiency_pct", F, "The device's figure: Band SleepEfficiencyPercentage", "%"),
    C("device_restful_sleep_s", F, "The device's figure: Band TotalRestfulSleep", "s"),
    C("device_restless_sleep_s", F, "The device's figure: Band TotalRestlessSleep", "s"),
    C("device_sound_sleep_s", F, "The device's figure: Sense sound_sleep", "s"),
    C("device_resting_hr_bpm", F, "The device's figure: Band RestingHeartRate", "bpm"),
    C("device_score", I, "The device's figure: Sense sleep score, 0-100", "score"),
    derived=True,
    local_time="the times + `utc_offset_s` where the device sent an offset; `night` is the local date",
)

# Not a table of data: de-duplication's notes (`dedupe.py`), which OUT keeps as `copies.parquet` for later runs.
COPIES = Table(
    "copies",
    "Every copy of a record captured more than once (in one file or in many): which file held it, a hash of its "
    "content as captured and whether it was the copy kept. Later runs and `merge` count duplicates and conflicts "
    "from it as one run over every input would. Written as Parquet whatever `--format` says; its hashes are those "
    "of the polars version that wrote it.",
    (
        C("table", S, "The table the record belongs to (a Sense night: `sense_nights`, for all its tables)"),
        C("record", pl.UInt64, "A hash of the record's key (with `participant_id`)"),
        C("source_file", S, "Capture file that held these copies, as the tables' `source_file`"),
        C("hash", pl.UInt64, "A hash of the copy's content as captured (before fields it lacked were filled); the "
          "copy kept's where the row kept holds every value of it (a duplicate)"),
        C("kept", B, "Whether this is the copy kept in the table"),
        C("copies", pl.UInt32, "How many such copies the file held"),
    ),
    (),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        BAND_EVENTS,
        BAND_SEQUENCES,
        BAND_MINUTES,
        BAND_MAP_POINTS,
        BAND_DAILY_SUMMARIES,
        BAND_HOURLY_SUMMARIES,
        BAND_DEVICES,
        BAND_INSIGHTS,
        SENSE_NIGHTS,
        SENSE_TIMELINE_EVENTS,
        SENSE_NIGHT_METRICS,
        SENSE_ROOM_READINGS,
        SENSE_SENSOR_SAMPLES,
        SENSE_SENSOR_SCALES,
        SENSE_TRENDS,
        SENSE_INSIGHTS,
        SENSE_DEVICES,
        SENSE_QUESTIONS,
        SENSE_QUESTION_CHOICES,
        SENSE_QUESTION_ANSWERS,
        SENSE_ALARMS,
        REJECTS,
        SLEEP_NIGHTS,
    )
}


def data_dictionary() -> str:
    """The README's data dictionary, as Markdown: every table and column, where each column's values come from, and
    the fields of each endpoint deliberately not kept, with why (from the endpoints' `Fields`)."""
    from .devices import endpoints  # the devices' field maps name these tables' columns

    sources: dict[str, list[str]] = {}  # "table.column" -> "`path` (endpoint)" of every field it is filled from
    for endpoint in endpoints():
        for path, columns in endpoint.fields.kept() if endpoint.fields else ():
            for column in columns:
                sources.setdefault(column, []).append(f"`{path}` ({endpoint.name})")
    out = []
    for t in (*TABLES.values(), COPIES):
        key = ", ".join(f"`{k}`" for k in t.key if k != "participant_id")
        out.append(f"### `{t.name}`\n\n{t.description}" + (f" Key: {key} (per participant)." if key else "") + "\n")
        if t.local_time:
            out.append(f"Local time: {t.local_time}.\n")
        out.append("| column | type | unit | meaning | from |\n|---|---|---|---|---|")
        for c in t.columns:
            came_from = "; ".join(sources.get(f"{t.name}.{c.name}", ()))
            out.append(f"| `{c.name}` | {_type_name(c.dtype)} | {c.unit or ''} | {c.description} | {came_from} |")
        out.append("")
    out.append("### Fields not kept\n")
    out.append("Every field of every endpoint's payloads is a column above or listed here, with why it is not kept.\n")
    for endpoint in endpoints():
        dropped = list(endpoint.fields.dropped()) if endpoint.fields else []
        if dropped:
            out.append(f"`{endpoint.name}`:\n")
            out += [f"- `{path}`: {reason}" for path, reason in dropped]
            out.append("")
    return "\n".join(out)


def _type_name(dtype: pl.DataType) -> str:
    if dtype == UTC_TIME:
        return "datetime (UTC)"
    return {pl.String: "string", pl.Int64: "integer", pl.Float64: "float", pl.Boolean: "boolean", pl.Date: "date",
            pl.UInt64: "integer (unsigned, 64 bits)", pl.UInt32: "integer (unsigned)"}[dtype]

