"""Admin views whose form is submitted by GET: the inputs of a preview stay
in its URL, to share or reload."""

from django.views.generic import FormView


class GetFormView(FormView):
    #: The query parameter whose presence binds the form.
    bound_by = ""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.request.method == "GET" and self.bound_by in self.request.GET:
            kwargs["data"] = self.request.GET
        return kwargs

    def get(self, request, *args, **kwargs):
        form = self.get_form()
        if form.is_bound:
            return self.form_valid(form) if form.is_valid() else self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form))
