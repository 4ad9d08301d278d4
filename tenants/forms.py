from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm


class SignUpForm(forms.Form):
    email = forms.EmailField(label="Work e-mail", widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    company_name = forms.CharField(label="Company name", max_length=200)
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not only digits; not a common password.",
    )

    def clean_email(self):
        # No "already exists": whether an address has an account is told only to its owner, by
        # e-mail (tenants/signup.py).
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password"):
            email = cleaned.get("email") or self.data.get("email", "")
            user = get_user_model()(username=email, email=email)
            try:
                password_validation.validate_password(cleaned["password"], user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))

    error_messages = {
        "invalid_login": "That e-mail and password do not match an account. Check both, or reset your password.",
        "inactive": "This account is inactive.",
    }
