// The condition builder (interaction/targeting/widgets.py): edits a condition
// tree (interaction/engine/conditions.py) without typing JSON.
//
// The widget's textarea holds the value the form submits, as JSON; this
// controller hides it, draws the tree (groups all / any / not, comparisons
// "field op value"), writes every change back into it, and shows a one-line
// summary and how many contacts match (debounced, from the admin count
// endpoint). "Edit as JSON" shows the textarea again; going back parses it.
// The server validates on save as it always did.
//
// Behaviour lives in connect(), so rows added later (InlinePanel rows,
// StreamField blocks) work as the page's own fields do.
(function () {
  "use strict";

  var KIND_LABELS = {
    text: "text",
    number: "number",
    bool: "yes / no",
    date: "date",
    datetime: "date and time",
    any: "any value",
  };
  var GROUP_LABELS = { all: "All of", any: "Any of", not: "Not" };
  var LIST_OPERATORS = ["in", "not in"];
  var EMPTINESS_OPERATORS = ["is empty", "is not empty"];
  var TEXT_OPERATORS = ["contains", "startswith"];
  var CONTEXT_PREFIX = "context.";
  var COUNT_DELAY_MS = 400;

  // One request per catalogue URL for the whole page (weight rows share one).
  var catalogues = new Map();
  // Fields shown as JSON, by name: a form Wagtail draws again (autosave)
  // keeps them so, rather than taking the text away from the user typing it.
  var jsonFields = new Set();
  // Datalists drawn so far, for unique ids.
  var suggestionLists = 0;

  function fetchCatalogue(url) {
    if (!catalogues.has(url)) {
      var request = fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            throw new Error(body.error || response.statusText);
          }
          return body;
        });
      });
      request.catch(function () {
        catalogues.delete(url);
      });
      catalogues.set(url, request);
    }
    return catalogues.get(url);
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (name === "text") {
        node.textContent = value;
      } else if (name.slice(0, 2) === "on") {
        node.addEventListener(name.slice(2), value);
      } else if (value === true) {
        node.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        node.setAttribute(name, value);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.append(child);
      }
    });
    return node;
  }

  function option(value, label, selected) {
    return element("option", { value: value, text: label, selected: selected });
  }

  function isGroup(node) {
    return !!node && typeof node === "object" && !Array.isArray(node) &&
      ("all" in node || "any" in node || "not" in node);
  }

  function groupKey(node) {
    return "all" in node ? "all" : "any" in node ? "any" : "not";
  }

  // Why the builder cannot draw ``node`` (the server explains more on save).
  function shapeProblem(node, path) {
    if (!node || typeof node !== "object" || Array.isArray(node)) {
      return path + ": expected a group or a comparison.";
    }
    if (isGroup(node)) {
      var keys = Object.keys(node);
      if (keys.length !== 1) {
        return path + ": a group has exactly one key, all, any or not.";
      }
      var key = keys[0];
      if (key === "not") {
        return shapeProblem(node.not, path + ".not");
      }
      if (!Array.isArray(node[key])) {
        return path + "." + key + ": expected a list.";
      }
      for (var index = 0; index < node[key].length; index += 1) {
        var problem = shapeProblem(node[key][index], path + "." + key + "[" + index + "]");
        if (problem) {
          return problem;
        }
      }
      return null;
    }
    if (typeof node.field !== "string" || typeof node.op !== "string") {
      return path + ": a comparison has a field and an operator.";
    }
    var extra = Object.keys(node).filter(function (name) {
      return ["field", "op", "value"].indexOf(name) < 0;
    });
    return extra.length ? path + ": unknown key " + extra[0] + "." : null;
  }

  function relativeDays(days) {
    if (days === 0) {
      return "today";
    }
    var count = Math.abs(days) + (Math.abs(days) === 1 ? " day" : " days");
    return days < 0 ? count + " ago" : "in " + count;
  }

  class ConditionBuilderController extends window.StimulusModule.Controller {
    static targets = ["input", "builder", "summary", "count", "toggle", "problem"];
    static values = {
      sources: String,
      context: Boolean,
      offer: Boolean,
      operators: Object,
      // {operators: {op: words}, dates: {op: words}}: the reviews' words.
      words: Object,
      fieldsUrl: String,
      countUrl: String,
    };

    connect() {
      this.catalogue = { fields: [], context: this.contextValue, countable: false };
      this.countTimer = null;
      this.countRequest = 0;
      this.jsonMode = false;
      this.source = this.findSource();
      this.onSourceChange = this.loadCatalogue.bind(this);
      if (this.source) {
        this.source.element.addEventListener("change", this.onSourceChange);
      }
      this.onInput = this.jsonEdited.bind(this);
      this.inputTarget.addEventListener("input", this.onInput);
      this.toggleTarget.hidden = false;
      this.summaryTarget.hidden = false;
      var text = this.inputTarget.value.trim();
      var problem = this.readTree(text);
      // The text stays as the server wrote it until something is changed
      // (Wagtail compares the form with what it was to warn of unsaved edits).
      if (problem || jsonFields.has(this.inputTarget.name)) {
        this.showJson(problem);
      } else {
        this.showBuilder();
      }
      this.loadCatalogue();
    }

    disconnect() {
      if (this.source) {
        this.source.element.removeEventListener("change", this.onSourceChange);
      }
      this.inputTarget.removeEventListener("input", this.onInput);
      window.clearTimeout(this.countTimer);
    }

    // The form field that names the environment: the first of the sources
    // this form has (an InlinePanel row reads its parent form's).
    findSource() {
      var form = this.element.closest("form") || document;
      var names = this.sourcesValue.split(" ").filter(Boolean);
      for (var index = 0; index < names.length; index += 1) {
        var found = form.querySelector('[name="' + names[index] + '"]');
        if (found) {
          return { name: names[index], element: found };
        }
      }
      return null;
    }

    // The query string naming the environment and what the condition may use.
    query() {
      if (!this.source) {
        return null;
      }
      var value = this.source.element.value;
      if (!value && this.source.name !== "dimension") {
        return null;
      }
      var params = new URLSearchParams();
      params.set(this.source.name, value);
      if (this.contextValue) {
        params.set("context", "1");
      }
      if (this.offerValue) {
        params.set("offer", "1");
      }
      return params.toString();
    }

    loadCatalogue() {
      var query = this.query();
      var done = function (catalogue, note) {
        this.catalogue = catalogue;
        this.note = note;
        if (!this.jsonMode) {
          this.render();
        }
        this.summarise();
        this.scheduleCount();
      }.bind(this);
      if (query === null) {
        var name = this.source ? this.source.name : "environment";
        done(
          { fields: [], context: this.contextValue, countable: false },
          "Choose the " + name + " first: its fields are listed here."
        );
        return;
      }
      fetchCatalogue(this.fieldsUrlValue + "?" + query).then(
        function (catalogue) {
          done(catalogue, null);
        },
        function (error) {
          done({ fields: [], context: this.contextValue, countable: false }, error.message);
        }.bind(this)
      );
    }

    // -- the value -----------------------------------------------------------

    readTree(text) {
      if (!text || text === "null") {
        this.tree = null;
        return null;
      }
      var tree;
      try {
        tree = JSON.parse(text);
      } catch (error) {
        return "Not valid JSON: " + error.message;
      }
      if (tree === null || (typeof tree === "object" && !Array.isArray(tree) && !Object.keys(tree).length)) {
        this.tree = null;
        return null;
      }
      var problem = shapeProblem(tree, "condition");
      if (problem) {
        return "The builder cannot show this condition: " + problem;
      }
      this.tree = tree;
      return null;
    }

    serialise(indent) {
      return this.tree === null ? "" : JSON.stringify(this.tree, null, indent);
    }

    // After every change made in the builder.
    changed(redraw) {
      this.inputTarget.value = this.serialise();
      this.inputTarget.dispatchEvent(new Event("change", { bubbles: true }));
      if (redraw) {
        this.render();
      }
      this.summarise();
      this.scheduleCount();
    }

    jsonEdited() {
      if (!this.jsonMode) {
        return;
      }
      var problem = this.readTree(this.inputTarget.value.trim());
      this.setProblem(problem);
      if (!problem) {
        this.summarise();
        this.scheduleCount();
      }
    }

    // -- modes -----------------------------------------------------------------

    toggleJson() {
      if (this.jsonMode) {
        var problem = this.readTree(this.inputTarget.value.trim());
        if (problem) {
          this.setProblem(problem);
          return;
        }
        this.inputTarget.value = this.serialise();
        this.showBuilder();
      } else {
        this.inputTarget.value = this.serialise(2);
        this.showJson(null);
      }
    }

    showBuilder() {
      this.jsonMode = false;
      jsonFields.delete(this.inputTarget.name);
      this.inputTarget.hidden = true;
      this.builderTarget.hidden = false;
      this.toggleTarget.textContent = "Edit as JSON";
      this.setProblem(null);
      this.render();
      this.summarise();
    }

    showJson(problem) {
      this.jsonMode = true;
      jsonFields.add(this.inputTarget.name);
      this.inputTarget.hidden = false;
      this.builderTarget.hidden = true;
      this.toggleTarget.textContent = "Back to the builder";
      this.setProblem(problem);
      this.summarise();
    }

    setProblem(problem) {
      this.problemTarget.hidden = !problem;
      this.problemTarget.textContent = problem || "";
    }

    // -- fields ----------------------------------------------------------------

    spec(name) {
      if (typeof name === "string" && name.indexOf(CONTEXT_PREFIX) === 0) {
        return { name: name, label: name, group: "Call context", kind: "any", choices: [] };
      }
      var found = this.catalogue.fields.find(function (field) {
        return field.name === name;
      });
      return found || { name: name, label: name, group: "", kind: "any", choices: [], unknown: true };
    }

    operators(spec) {
      return this.operatorsValue[spec.kind] || this.operatorsValue.any || [];
    }

    defaultValue(spec, op) {
      if (EMPTINESS_OPERATORS.indexOf(op) >= 0) {
        return undefined;
      }
      if (LIST_OPERATORS.indexOf(op) >= 0) {
        return [];
      }
      if (spec.choices.length && TEXT_OPERATORS.indexOf(op) < 0) {
        return spec.choices[0][0];
      }
      return { number: 0, bool: true, date: { today: 0 }, datetime: { today: 0 } }[spec.kind] ?? "";
    }

    newComparison() {
      var first = this.catalogue.fields.find(function (field) {
        return !field.alias;
      });
      var spec = first || this.spec(CONTEXT_PREFIX + "language");
      var op = this.operators(spec)[0];
      return { field: spec.name, op: op, value: this.defaultValue(spec, op) };
    }

    // -- drawing -----------------------------------------------------------------

    render() {
      var builder = this.builderTarget;
      builder.replaceChildren();
      if (this.note) {
        builder.append(element("p", { class: "interaction-condition__note", text: this.note }));
      }
      var self = this;
      if (this.tree === null) {
        builder.append(
          this.groupElement({ all: [] }, {
            replace: function (node) {
              self.tree = node;
              self.changed(true);
            },
            root: true,
          })
        );
        return;
      }
      builder.append(
        this.nodeElement(this.tree, {
          replace: function (node) {
            self.tree = node;
            self.changed(true);
          },
          remove: function () {
            self.tree = null;
            self.changed(true);
          },
          root: true,
        })
      );
    }

    nodeElement(node, place) {
      return isGroup(node) ? this.groupElement(node, place) : this.comparisonElement(node, place);
    }

    groupElement(node, place) {
      var self = this;
      var key = groupKey(node);
      var children = key === "not" ? [node.not] : node[key];
      var kind = element(
        "select",
        {
          class: "interaction-condition__group-kind",
          "aria-label": "Group",
          onchange: function (event) {
            place.replace(self.regroup(node, event.target.value));
          },
        },
        ["all", "any", "not"].map(function (name) {
          return option(name, GROUP_LABELS[name], name === key);
        })
      );
      var header = element("div", { class: "interaction-condition__group-header" }, [
        kind,
        element("span", {
          class: "interaction-condition__group-help",
          text: { all: "of these hold", any: "of these holds", not: "the following" }[key],
        }),
        place.remove && !place.root
          ? element("button", {
              type: "button",
              class: "button button-small button-secondary no interaction-condition__remove",
              text: "Remove group",
              onclick: place.remove,
            })
          : null,
      ]);
      var list = element("ol", { class: "interaction-condition__children" });
      children.forEach(function (child, index) {
        list.append(
          element("li", {}, [
            self.nodeElement(child, {
              replace: function (replacement) {
                if (key === "not") {
                  node.not = replacement;
                } else {
                  children[index] = replacement;
                }
                place.replace(node);
              },
              remove: key === "not"
                ? null
                : function () {
                    children.splice(index, 1);
                    // Removing the last condition leaves no condition (an
                    // empty "any of" would be false for everyone).
                    if (place.root && !children.length) {
                      place.replace(null);
                    } else {
                      place.replace(node);
                    }
                  },
            }),
          ])
        );
      });
      var add = function (child) {
        return function () {
          if (key === "not") {
            // "not" holds one condition: adding makes it "not (all of …)".
            node.not = isGroup(node.not) && groupKey(node.not) !== "not"
              ? node.not
              : { all: [node.not] };
            node.not[groupKey(node.not)].push(child());
          } else {
            children.push(child());
          }
          place.replace(node);
        };
      };
      var actions = element("div", { class: "interaction-condition__actions" }, [
        element("button", {
          type: "button",
          class: "button button-small button-secondary",
          text: "+ Condition",
          onclick: add(function () {
            return self.newComparison();
          }),
        }),
        element("button", {
          type: "button",
          class: "button button-small button-secondary",
          text: "+ Group",
          onclick: add(function () {
            return { any: [self.newComparison()] };
          }),
        }),
      ]);
      return element(
        "div",
        { class: "interaction-condition__group interaction-condition__group--" + key },
        [header, list, actions]
      );
    }

    regroup(node, key) {
      var old = groupKey(node);
      if (old === key) {
        return node;
      }
      if (old !== "not" && key !== "not") {
        var renamed = {};
        renamed[key] = node[old];
        return renamed;
      }
      if (key === "not") {
        var children = node[old];
        if (children.length === 1) {
          return { not: children[0] };
        }
        var inner = {};
        inner[old] = children;
        return { not: inner };
      }
      var group = {};
      group[key] = [node.not];
      return group;
    }

    comparisonElement(node, place) {
      var self = this;
      var spec = this.spec(node.field);
      var row = element("div", { class: "interaction-condition__comparison" });

      row.append(this.fieldPicker(node, spec, place));
      if (spec.group === "Call context") {
        row.append(
          element("input", {
            type: "text",
            class: "interaction-condition__context-name",
            "aria-label": "Context name",
            placeholder: "name, e.g. language",
            value: node.field.slice(CONTEXT_PREFIX.length),
            oninput: function (event) {
              node.field = CONTEXT_PREFIX + event.target.value.trim();
              self.changed(false);
            },
          })
        );
      }
      var operators = this.operators(spec);
      if (operators.indexOf(node.op) < 0) {
        operators = [node.op].concat(operators);
      }
      var words = this.wordsValue;
      var labels = spec.kind === "date" || spec.kind === "datetime" ? words.dates : {};
      row.append(
        element(
          "select",
          {
            class: "interaction-condition__operator",
            "aria-label": "Operator",
            onchange: function (event) {
              var op = event.target.value;
              node.value = self.adaptValue(node.value, node.op, op, spec);
              if (node.value === undefined) {
                delete node.value;
              }
              node.op = op;
              place.replace(node);
            },
          },
          operators.map(function (op) {
            return option(op, labels[op] || words.operators[op] || op, op === node.op);
          })
        )
      );
      var value = this.valueEditor(node, spec);
      if (value) {
        row.append(value);
      }
      if (place.remove) {
        row.append(
          element("button", {
            type: "button",
            class: "button button-small button-secondary no interaction-condition__remove",
            "aria-label": "Remove this condition",
            text: "×",
            onclick: place.remove,
          })
        );
      }
      if (place.root) {
        // A lone comparison at the top: adding one makes "all of" both.
        var wrapper = element("div", { class: "interaction-condition__group" }, [row]);
        wrapper.append(
          element("div", { class: "interaction-condition__actions" }, [
            element("button", {
              type: "button",
              class: "button button-small button-secondary",
              text: "+ Condition",
              onclick: function () {
                place.replace({ all: [node, self.newComparison()] });
              },
            }),
          ])
        );
        return wrapper;
      }
      return row;
    }

    fieldPicker(node, spec, place) {
      var self = this;
      var groups = new Map();
      // Another name of a listed field (the primary key's own name beside
      // "pk"): offered only to the condition that already uses it.
      var fields = this.catalogue.fields.filter(function (field) {
        return !field.alias || field.name === node.field;
      });
      if (spec.unknown) {
        fields.unshift(spec);
      }
      fields.forEach(function (field) {
        var name = field.unknown ? "Unknown" : field.group;
        if (!groups.has(name)) {
          groups.set(name, []);
        }
        groups.get(name).push(field);
      });
      var select = element("select", {
        class: "interaction-condition__field",
        "aria-label": "Field",
        onchange: function (event) {
          var name = event.target.value === CONTEXT_PREFIX ? CONTEXT_PREFIX : event.target.value;
          var next = self.spec(name);
          var ops = self.operators(next);
          var op = ops.indexOf(node.op) >= 0 && next.kind === spec.kind ? node.op : ops[0];
          var sameValues = next.kind === spec.kind && !next.choices.length && !spec.choices.length;
          node.field = name;
          if (!sameValues || op !== node.op) {
            node.op = op;
            node.value = self.defaultValue(next, op);
            if (node.value === undefined) {
              delete node.value;
            }
          }
          place.replace(node);
        },
      });
      groups.forEach(function (members, name) {
        var optgroup = element("optgroup", { label: name || "Fields" });
        members.forEach(function (field) {
          var label = field.label + " (" + (field.unknown ? "unknown field" : field.choices.length ? "choice" : KIND_LABELS[field.kind]) + ")";
          optgroup.append(option(field.name, label, field.name === node.field));
        });
        select.append(optgroup);
      });
      if (this.catalogue.context) {
        var context = element("optgroup", { label: "Call context" });
        context.append(
          option(CONTEXT_PREFIX, "Call context… (name it)", node.field.indexOf(CONTEXT_PREFIX) === 0)
        );
        select.append(context);
      }
      return select;
    }

    adaptValue(value, from, to, spec) {
      var wasList = LIST_OPERATORS.indexOf(from) >= 0;
      var isList = LIST_OPERATORS.indexOf(to) >= 0;
      if (EMPTINESS_OPERATORS.indexOf(to) >= 0) {
        return undefined;
      }
      if (EMPTINESS_OPERATORS.indexOf(from) >= 0 || value === undefined) {
        return this.defaultValue(spec, to);
      }
      if (isList && !wasList) {
        // A value left as it was drawn is no choice of the user's.
        var untouched = value === "" || value === null || value === this.defaultValue(spec, from);
        return untouched ? [] : [value];
      }
      if (wasList && !isList) {
        return value.length ? value[0] : this.defaultValue(spec, to);
      }
      if (TEXT_OPERATORS.indexOf(to) >= 0 && typeof value !== "string") {
        return String(value ?? "");
      }
      return value;
    }

    // -- values ---------------------------------------------------------------------

    valueEditor(node, spec) {
      var self = this;
      if (EMPTINESS_OPERATORS.indexOf(node.op) >= 0) {
        return null;
      }
      var set = function (value) {
        node.value = value;
        self.changed(false);
      };
      if (LIST_OPERATORS.indexOf(node.op) >= 0) {
        return this.listEditor(node, spec);
      }
      if (spec.choices.length && TEXT_OPERATORS.indexOf(node.op) < 0) {
        var choices = spec.choices.slice();
        if (!choices.some(function (choice) { return choice[0] === node.value; })) {
          choices.unshift([node.value, String(node.value)]);
        }
        return element(
          "select",
          {
            class: "interaction-condition__value",
            "aria-label": "Value",
            onchange: function (event) {
              set(choices[event.target.selectedIndex][0]);
            },
          },
          choices.map(function (choice) {
            return option(String(choice[0]), choice[1], choice[0] === node.value);
          })
        );
      }
      if (spec.kind === "date" || spec.kind === "datetime") {
        return this.dateEditor(node, spec);
      }
      return this.scalarInput(spec, node.value, set, TEXT_OPERATORS.indexOf(node.op) >= 0);
    }

    // One value of a text, number, yes/no or context field.
    scalarInput(spec, value, set, textOnly) {
      if (spec.kind === "bool") {
        return element(
          "select",
          {
            class: "interaction-condition__value",
            "aria-label": "Value",
            onchange: function (event) {
              set(event.target.value === "true");
            },
          },
          [option("true", "yes", value === true), option("false", "no", value === false)]
        );
      }
      if (spec.kind === "number") {
        return element("input", {
          type: "number",
          step: "any",
          class: "interaction-condition__value",
          "aria-label": "Value",
          value: value ?? "",
          oninput: function (event) {
            var text = event.target.value;
            set(text === "" ? null : Number(text));
          },
        });
      }
      if (spec.kind === "any" && !textOnly) {
        return this.contextInput(value, set);
      }
      var text = element("input", {
        type: "text",
        class: "interaction-condition__value",
        "aria-label": "Value",
        value: value ?? "",
        oninput: function (event) {
          set(event.target.value);
        },
      });
      if (!(spec.suggestions || []).length) {
        return text;
      }
      // Values the catalogue has (offer fields of a rule): suggested, not imposed.
      suggestionLists += 1;
      var id = "interaction-condition-suggestions-" + suggestionLists;
      text.setAttribute("list", id);
      return element("span", { class: "interaction-condition__value-group" }, [
        text,
        element(
          "datalist",
          { id: id },
          spec.suggestions.map(function (suggestion) {
            return option(suggestion, suggestion, false);
          })
        ),
      ]);
    }

    // A call context value: text, a number or yes/no, as the caller sends it.
    contextInput(value, set) {
      var type = typeof value === "number" ? "number" : typeof value === "boolean" ? "bool" : "text";
      var input = element("input", {
        type: "text",
        class: "interaction-condition__value",
        "aria-label": "Value",
        value: value === null || value === undefined ? "" : String(value),
      });
      var kind = element(
        "select",
        { class: "interaction-condition__value-type", "aria-label": "Value type" },
        [option("text", "text", type === "text"), option("number", "number", type === "number"), option("bool", "yes / no", type === "bool")]
      );
      var update = function () {
        var text = input.value;
        if (kind.value === "number") {
          set(text.trim() === "" || isNaN(Number(text)) ? text : Number(text));
        } else if (kind.value === "bool") {
          set(["true", "yes", "1"].indexOf(text.trim().toLowerCase()) >= 0);
        } else {
          set(text);
        }
      };
      input.addEventListener("input", update);
      kind.addEventListener("change", update);
      return element("span", { class: "interaction-condition__value-group" }, [input, kind]);
    }

    dateEditor(node, spec) {
      var self = this;
      var relative = node.value !== null && typeof node.value === "object";
      var mode = element(
        "select",
        {
          class: "interaction-condition__date-mode",
          "aria-label": "Date",
          onchange: function (event) {
            node.value = event.target.value === "relative"
              ? { today: 0 }
              : new Date().toISOString().slice(0, spec.kind === "datetime" ? 16 : 10);
            self.changed(true);
          },
        },
        [option("date", "the date", !relative), option("relative", "days from today", relative)]
      );
      var input;
      if (relative) {
        input = element("input", {
          type: "number",
          step: "1",
          class: "interaction-condition__value interaction-condition__days",
          "aria-label": "Days from today",
          title: "Negative: days ago",
          value: node.value.today,
          oninput: function (event) {
            var days = parseInt(event.target.value, 10);
            node.value = { today: isNaN(days) ? 0 : days };
            self.changed(false);
          },
        });
      } else {
        var datetime = spec.kind === "datetime";
        var shown = typeof node.value === "string" ? node.value : "";
        input = element("input", {
          type: datetime ? "datetime-local" : "date",
          class: "interaction-condition__value",
          "aria-label": "Date",
          value: datetime ? shown.slice(0, 16) : shown.slice(0, 10),
          onchange: function (event) {
            node.value = event.target.value;
            self.changed(false);
          },
        });
      }
      return element("span", { class: "interaction-condition__value-group" }, [mode, input]);
    }

    listEditor(node, spec) {
      var self = this;
      var values = Array.isArray(node.value) ? node.value : [];
      node.value = values;
      if (spec.choices.length) {
        return element(
          "span",
          { class: "interaction-condition__choices", role: "group", "aria-label": "Values" },
          spec.choices.map(function (choice) {
            return element("label", {}, [
              element("input", {
                type: "checkbox",
                checked: values.indexOf(choice[0]) >= 0,
                onchange: function (event) {
                  var at = values.indexOf(choice[0]);
                  if (event.target.checked && at < 0) {
                    values.push(choice[0]);
                  } else if (!event.target.checked && at >= 0) {
                    values.splice(at, 1);
                  }
                  self.changed(false);
                },
              }),
              document.createTextNode(" " + choice[1]),
            ]);
          })
        );
      }
      var list = element("span", { class: "interaction-condition__list" });
      values.forEach(function (value, index) {
        list.append(
          element("span", { class: "interaction-condition__list-item" }, [
            self.scalarInput(spec, value, function (changed) {
              values[index] = changed;
              self.changed(false);
            }, false),
            element("button", {
              type: "button",
              class: "button button-small button-secondary no",
              "aria-label": "Remove this value",
              text: "×",
              onclick: function () {
                values.splice(index, 1);
                self.changed(true);
              },
            }),
          ])
        );
      });
      list.append(
        element("button", {
          type: "button",
          class: "button button-small button-secondary",
          text: "+ Value",
          onclick: function () {
            values.push({ number: 0, bool: true }[spec.kind] ?? "");
            self.changed(true);
          },
        })
      );
      return list;
    }

    // -- summary and count ---------------------------------------------------------

    summarise() {
      this.summaryTarget.textContent = this.tree === null
        ? "No condition: always true."
        : this.describe(this.tree, true) + ".";
    }

    describe(node, top) {
      var self = this;
      if (isGroup(node)) {
        var key = groupKey(node);
        if (key === "not") {
          return "not (" + this.describe(node.not, true) + ")";
        }
        var parts = node[key].map(function (child) {
          return self.describe(child, false);
        });
        if (!parts.length) {
          return key === "all" ? "always true" : "never true";
        }
        var text = parts.join(key === "all" ? " and " : " or ");
        return top || parts.length === 1 ? text : "(" + text + ")";
      }
      var spec = this.spec(node.field);
      var dated = spec.kind === "date" || spec.kind === "datetime";
      var words = this.wordsValue;
      var op = (dated && words.dates[node.op]) || words.operators[node.op] || node.op;
      var subject = spec.group === "Call context" ? node.field : spec.label;
      if (EMPTINESS_OPERATORS.indexOf(node.op) >= 0) {
        return subject + " " + op;
      }
      var shown = Array.isArray(node.value)
        ? node.value.map(function (value) { return self.describeValue(value, spec); }).join(", ") || "nothing"
        : this.describeValue(node.value, spec);
      return subject + " " + op + " " + shown;
    }

    describeValue(value, spec) {
      if (value && typeof value === "object" && "today" in value) {
        return relativeDays(value.today);
      }
      var choice = spec.choices.find(function (item) {
        return item[0] === value;
      });
      if (choice) {
        return choice[1];
      }
      if (typeof value === "boolean") {
        return value ? "yes" : "no";
      }
      if (typeof value === "string") {
        return "“" + value + "”";
      }
      return value === null || value === undefined ? "?" : String(value);
    }

    scheduleCount() {
      window.clearTimeout(this.countTimer);
      // A condition on offers (a typology rule's) counts no contacts.
      if (!this.catalogue.countable || this.offerValue) {
        this.countTarget.textContent = "";
        return;
      }
      this.countTimer = window.setTimeout(this.count.bind(this), COUNT_DELAY_MS);
    }

    count() {
      var query = this.query();
      if (query === null) {
        return;
      }
      var form = this.element.closest("form");
      var token = form && form.querySelector("input[name=csrfmiddlewaretoken]");
      var number = (this.countRequest += 1);
      var target = this.countTarget;
      var noun = this.catalogue.noun || "contacts";
      target.classList.add("interaction-condition__count--busy");
      fetch(this.countUrlValue + "?" + query, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": token ? token.value : "",
          Accept: "application/json",
        },
        body: this.jsonMode ? this.inputTarget.value : this.serialise(),
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(
          function (answer) {
            if (number !== this.countRequest) {
              return;
            }
            target.classList.remove("interaction-condition__count--busy");
            target.classList.toggle("interaction-condition__count--error", !answer.ok);
            if (!answer.ok) {
              target.textContent = answer.body.error;
            } else if (answer.body.count === null) {
              target.textContent = answer.body.detail;
            } else {
              target.textContent = answer.body.count.toLocaleString() + " of " +
                answer.body.total.toLocaleString() + " " + noun + " match.";
            }
          }.bind(this),
          function () {
            target.classList.remove("interaction-condition__count--busy");
            target.textContent = "";
          }
        );
    }
  }

  window.wagtail.app.register("condition-builder", ConditionBuilderController);
})();
