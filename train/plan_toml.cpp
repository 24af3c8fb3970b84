// The quantization plan's side of the trainer's config: default plan, TOML writer, comparison.
#include "train/plan_toml.h"

namespace qatd::train {

namespace {

void write_settings(TomlWriter& w, const quant::SpecOverrides& s) {
  if (s.granularity) w.string("granularity", quant::to_string(*s.granularity));
  if (s.channel_axis) w.integer("channel_axis", *s.channel_axis);
  if (s.symmetric) w.boolean("symmetric", *s.symmetric);
  if (s.is_signed) w.boolean("signed", *s.is_signed);
  if (s.scale_source) w.string("scale_source", quant::to_string(*s.scale_source));
  if (s.averaging_constant) w.number("averaging_constant", *s.averaging_constant);
  if (s.percentile) w.number("percentile", *s.percentile);
  if (s.surrogate) w.string("surrogate", quant::to_string(*s.surrogate));
  if (s.bits_init) w.number("bits_init", *s.bits_init);
  if (s.bits_min) w.number("bits_min", *s.bits_min);
  if (s.bits_max) w.number("bits_max", *s.bits_max);
}

bool same_settings(const quant::SpecOverrides& a, const quant::SpecOverrides& b) {
  return a.granularity == b.granularity && a.channel_axis == b.channel_axis && a.symmetric == b.symmetric &&
         a.is_signed == b.is_signed && a.scale_source == b.scale_source &&
         a.averaging_constant == b.averaging_constant && a.percentile == b.percentile && a.surrogate == b.surrogate &&
         a.bits_init == b.bits_init && a.bits_min == b.bits_min && a.bits_max == b.bits_max;
}

}  // namespace

quant::QuantizationPlan default_quantization_plan() {
  quant::QuantizationPlan plan;
  plan.source = "default quantization plan";
  quant::PlanRule rule;
  rule.pattern = "**";
  rule.types = {"Linear", "Conv2d"};
  rule.weights = true;
  rule.settings.granularity = quant::Granularity::per_channel;
  plan.rules.push_back(std::move(rule));
  return plan;
}

bool same_plan(const quant::QuantizationPlan& a, const quant::QuantizationPlan& b) {
  if (!same_settings(a.defaults, b.defaults) || a.rules.size() != b.rules.size()) return false;
  if (a.schedule.has_value() != b.schedule.has_value()) return false;
  if (a.schedule) {
    const quant::BitSchedule &x = *a.schedule, &y = *b.schedule;
    if (x.start_step != y.start_step || x.steps != y.steps || x.ceiling_start != y.ceiling_start ||
        x.ceiling_end != y.ceiling_end || x.penalty_warmup_steps != y.penalty_warmup_steps) {
      return false;
    }
  }
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const quant::PlanRule &x = a.rules[i], &y = b.rules[i];
    if (x.pattern != y.pattern || x.types != y.types || x.weights != y.weights || x.outputs != y.outputs ||
        !same_settings(x.settings, y.settings)) {
      return false;
    }
  }
  return true;
}

void write_plan(TomlWriter& w, const quant::QuantizationPlan& plan) {
  if (!plan.defaults.empty()) {
    w.section("quant.defaults");
    write_settings(w, plan.defaults);
  }
  if (plan.schedule) {
    w.section("quant.anneal");
    w.integer("start_step", plan.schedule->start_step);
    w.integer("steps", plan.schedule->steps);
    w.number("ceiling_start", plan.schedule->ceiling_start);
    w.number("ceiling_end", plan.schedule->ceiling_end);
    w.integer("penalty_warmup_steps", plan.schedule->penalty_warmup_steps);
  }
  for (const quant::PlanRule& rule : plan.rules) {
    w.array_section("quant.rules");
    w.string("pattern", rule.pattern);
    if (!rule.types.empty()) w.strings("types", rule.types);
    if (rule.weights) w.boolean("weights", *rule.weights);
    if (rule.outputs) w.boolean("outputs", *rule.outputs);
    write_settings(w, rule.settings);
  }
}

}  // namespace qatd::train
